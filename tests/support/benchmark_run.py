"""What ``benchmarks/run.py`` measures, read from its source: running it (or importing it)
would import JAX and every section, which a test of the targets' table does not need."""

from __future__ import annotations

import ast
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def benchmark_sections() -> tuple[str, ...]:
    """The sections of the JSON ``benchmarks/run.py`` writes: the keys of its ``SECTIONS``."""
    for node in ast.parse(RUN.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "SECTIONS"
            and isinstance(node.value, ast.Dict)
        ):
            return tuple(ast.literal_eval(key) for key in node.value.keys if key is not None)
    raise AssertionError(f"{RUN} has no SECTIONS = {{...}}")
