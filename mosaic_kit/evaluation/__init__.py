"""Scoring: metrics, evaluation, results.json, per-sample outputs, finished runs rebuilt."""
