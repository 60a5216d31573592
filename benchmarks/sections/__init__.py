"""The benchmark's sections, one module each, and what they share (``common``).

Each section module has one ``bench_*`` function that returns the section's figures as a
flat dict of numbers, the section's part of the JSON that ``benchmarks/run.py`` writes.
"""
