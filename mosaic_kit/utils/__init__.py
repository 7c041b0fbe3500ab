"""Utilities that know no model and no data: atomic files, npz, YAML, checkpoints, devices."""
