"""BENCHMARKS.md states every target of ``benchmarks/targets.py``, with the same bounds.

The verdicts of a full benchmark run read their targets from ``benchmarks/targets.py``, and
BENCHMARKS.md's "Targets" table is what ``python benchmarks/targets.py`` prints: one row per
target, its key, its issue, its verdict line and the condition it is met on. The table and the
module are compared row for row, both ways. No benchmark runs, and JAX is not imported:
``targets.py`` needs only the standard library.
"""

from __future__ import annotations

import random
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from support.benchmark_run import benchmark_sections

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Targets"
SECTIONS = benchmark_sections()  # of the JSON that benchmarks/run.py writes

TARGETS_MODULE = runpy.run_path(str(ROOT / "benchmarks" / "targets.py"))
TARGETS: tuple[Any, ...] = TARGETS_MODULE["TARGETS"]


def documented_rows() -> list[tuple[str, ...]]:
    """The rows of the first table under BENCHMARKS.md's "Targets" heading, cell by cell."""
    lines = BENCHMARKS_MD.read_text(encoding="utf-8").splitlines()
    assert HEADING in lines, f"BENCHMARKS.md has no line {HEADING!r}"
    rows: list[tuple[str, ...]] = []
    for line in lines[lines.index(HEADING) + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
        elif rows:
            break
    return rows


def test_benchmarks_md_states_every_target_and_no_other() -> None:
    header, separator, *rows = documented_rows()
    assert header == TARGETS_MODULE["TABLE_HEADER"]
    assert set(separator) == {"---"} and len(separator) == len(header)
    expected = [TARGETS_MODULE["table_row"](target) for target in TARGETS]
    documented = {row[0].strip("`"): row for row in rows}
    wanted = {row[0].strip("`"): row for row in expected}
    missing = [key for key in wanted if key not in documented]
    unknown = [key for key in documented if key not in wanted]
    assert not missing, f"targets.py's targets missing from BENCHMARKS.md: {missing}"
    assert not unknown, f"BENCHMARKS.md's targets that targets.py does not hold: {unknown}"
    for key, row in wanted.items():
        assert documented[key] == row, f"{key}: BENCHMARKS.md {documented[key]}, targets.py {row}"
    assert rows == expected, "the same rows, in targets.py's order, each once"


def test_targets_have_unique_keys_and_read_figures_of_the_json() -> None:
    keys = [target.key for target in TARGETS]
    assert len(set(keys)) == len(keys)
    assert {target.issue for target in TARGETS} == {7, 11, 18, 20}
    for target in TARGETS:
        assert target.conditions, target.key
        for name in target.figures():
            section, _, key = name.partition(".")
            assert section in SECTIONS and key, f"{target.key}: {name}"


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.key)
def test_a_condition_holds_at_its_bound_unless_strict(target: Any) -> None:
    for condition in target.conditions:
        results: dict[str, dict[str, float]] = {section: {} for section in SECTIONS}
        if condition.reference is not None:
            section, key = condition.reference.split(".")
            results[section][key] = 40
        section, key = condition.figure.split(".")
        limit = condition.limit(results)
        step = -1 if condition.comparison == ">=" else 1
        results[section][key] = limit
        assert condition.holds(results) == (condition.comparison != "<"), condition
        results[section][key] = limit + step
        assert not condition.holds(results), condition
        results[section][key] = limit - step
        assert condition.holds(results), condition


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.key)
def test_the_stated_condition_is_what_the_verdict_checks(target: Any) -> None:
    """The table's "met when" column, evaluated as Python, agrees with ``Target.met``."""
    rng = random.Random(target.key)
    values = (0, 1, 1.01, 1.02, 1.05, 2, 3, 5, 15, 20, 27, 40, 50, 72.5, 80, 92, 100)
    for _ in range(500):
        results: dict[str, dict[str, float]] = {section: {} for section in SECTIONS}
        for name in target.figures():
            section, key = name.split(".")
            results[section][key] = rng.choice(values)
        namespace = {section: SimpleNamespace(**figures) for section, figures in results.items()}
        stated = eval(target.condition_text(), {}, namespace)
        assert stated == target.met(results), (target.condition_text(), results)
