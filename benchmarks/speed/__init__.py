"""The speed and memory benchmarks of ``benchmarks/perf.py``, one module per section, with their
shared timer (``common``)."""
