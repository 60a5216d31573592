"""A schedule's learning rate at every step of a run, and its ``schedule.csv`` file.

The curve is computed on the host with NumPy (no JAX): ``schedule(np.arange(steps + 1))``.
The CSV has a header ``step,lr`` and one row per step; each ``lr`` is written as the shortest
text that reads back as the same float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hydra_optax_schedules.schedule import Schedule

__all__ = ["Curve", "evaluate", "read_csv", "write_csv"]

CSV_HEADER = "step,lr"


@dataclass(frozen=True, eq=False)
class Curve:
    """The learning rate ``lrs[i]`` at step ``steps[i]``, for steps ``0, 1, ..., steps[-1]``."""

    steps: np.ndarray
    lrs: np.ndarray


def evaluate(schedule: Schedule, steps: int) -> Curve:
    """The curve of ``schedule`` over steps ``0..steps`` (both ends included), in float64."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} is invalid: expected a whole number of steps >= 1")
    grid = np.arange(steps + 1)
    return Curve(steps=grid, lrs=np.asarray(schedule(grid), dtype=np.float64))


def write_csv(curve: Curve, path: Path) -> None:
    """Write ``curve`` to ``path`` as ``step,lr`` rows."""
    rows = (
        f"{step},{lr!r}\n"
        for step, lr in zip(curve.steps.tolist(), curve.lrs.tolist(), strict=True)
    )
    with open(path, "w", encoding="utf-8") as file:
        file.write(CSV_HEADER + "\n")
        file.writelines(rows)


def read_csv(path: Path) -> Curve:
    """Read a curve written by :func:`write_csv`."""
    with open(path, encoding="utf-8") as file:
        header = file.readline().strip()
        if header != CSV_HEADER:
            raise ValueError(f"{path}: expected the header {CSV_HEADER!r}, got {header!r}")
        table = np.loadtxt(file, delimiter=",", ndmin=2, dtype=np.float64)
    return Curve(steps=table[:, 0].astype(np.int64), lrs=table[:, 1])
