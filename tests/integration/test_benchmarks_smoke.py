"""The benchmark runs end to end in smoke mode, so it cannot rot.

Only the shape of its JSON is checked: timings are never asserted (they would make tests
flaky); the full run's figures and the targets are in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import math
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from support.benchmark_run import benchmark_sections

# The full lane (CI): the smoke run times every section, about 20 s.
pytestmark = pytest.mark.full

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
TARGETS = SCRIPT.with_name("targets.py")
SECTIONS = benchmark_sections()  # of the JSON that benchmarks/run.py writes


def test_smoke_run_writes_every_section_with_numbers(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--output", str(output)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(output.read_text())
    for section in SECTIONS:
        figures = results[section]
        assert figures, section
        for name, value in figures.items():
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            assert is_number and math.isfinite(value), f"{section}.{name} = {value!r}"
    assert results["meta"]["smoke"] is True
    for target in runpy.run_path(str(TARGETS))["TARGETS"]:  # what a full run's verdicts read
        for name in target.figures():
            section, key = name.split(".")
            assert key in results[section], f"target {target.key} reads {name}, not written"
    assert not (tmp_path / "outputs").exists()
