"""Experiments: plans (methods x datasets x seeds), suites through the notebooks, clusters."""
