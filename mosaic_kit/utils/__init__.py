"""Utilities that know no model and no data: files written atomically, npz, YAML, checkpoints,
devices."""
