"""Experiments: plans (methods x datasets x seeds), suites that run them through the notebooks,
clusters."""
