"""Scoring: metrics, batched evaluation, results.json, per-sample outputs, finished runs rebuilt."""
