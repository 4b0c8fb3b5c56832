"""NetViz's benchmarks: they print and record numbers (benchmarks/results/); tests never time anything.

Run from the repository root: ``python -m benchmarks.bench`` (the speed table,
also ``./dev.sh bench``), ``python benchmarks/fooling_benchmark.py``, ... (see README.md).
Nothing in ``netviz_core`` imports this package.
"""
