"""A table of schedules' values at a run's steps, and the ``schedule.csv`` file that holds it.

Values are computed on the host with NumPy (no JAX), in float64, at integer steps (``int64``,
exact up to ``2**63 - 1``). Which steps: :mod:`.sampling`.

``schedule.csv`` has a header ``step,<column>,...`` (one column per schedule) and one row per
step, in increasing order; each value is written as the shortest text that reads back as the
same float64.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hydra_optax_schedules.schedule import Schedule

__all__ = [
    "LR_COLUMN",
    "LR_KEY",
    "STEP_COLUMN",
    "Table",
    "column_name",
    "evaluate",
    "read_csv",
    "write_csv",
]

STEP_COLUMN = "step"
#: The column of the learning-rate schedule (the config's ``scheduler``), as before several
#: schedules were written; other schedules' columns are named by their key.
LR_COLUMN = "lr"
#: The config key of the learning-rate schedule.
LR_KEY = "scheduler"


def column_name(key: str) -> str:
    """The ``schedule.csv`` column of the schedule at ``key``: ``lr`` for ``scheduler``."""
    return LR_COLUMN if key == LR_KEY else key


@dataclass(frozen=True, eq=False)
class Table:
    """A schedule's value ``values[i]`` at step ``steps[i]``; steps increase, from 0 to the last."""

    steps: np.ndarray
    values: np.ndarray

    def at(self, step: int) -> float:
        """The value at ``step``, which must be one of ``steps``."""
        index = int(np.searchsorted(self.steps, step))
        if index == len(self.steps) or int(self.steps[index]) != step:
            raise KeyError(f"step {step} is not in the table")
        return float(self.values[index])


def evaluate(schedule: Schedule, steps: np.ndarray) -> Table:
    """The curve of ``schedule`` at ``steps`` (an increasing ``int64`` array), in float64."""
    return Table(steps=steps, values=np.asarray(schedule(steps), dtype=np.float64))


def write_csv(
    path: Path, columns: Sequence[str], rows: Iterable[tuple[np.ndarray, Sequence[np.ndarray]]]
) -> int:
    """Write ``schedule.csv``: a header, then blocks of rows; return the number of rows.

    Args:
        path: The file to write.
        columns: The value columns' names, after ``step``.
        rows: Blocks of ``(steps, [values of each column at those steps])``, in step order, so
            a long table is written without holding it all in memory.
    """
    written = 0
    with open(path, "w", encoding="utf-8") as file:
        file.write(",".join([STEP_COLUMN, *columns]) + "\n")
        for steps, values in rows:
            as_lists = [steps.tolist(), *(column.tolist() for column in values)]
            file.writelines(",".join(map(repr, row)) + "\n" for row in zip(*as_lists, strict=True))
            written += len(steps)
    return written


def read_csv(path: Path) -> dict[str, Table]:
    """Read a file written by :func:`write_csv`: each value column's curve, by column name."""
    with open(path, encoding="utf-8") as file:
        header, *lines = file.read().splitlines()
    names = header.split(",")
    if len(names) < 2 or names[0] != STEP_COLUMN:
        raise ValueError(f"{path}: expected a header step,<column>,..., got {header!r}")
    # Steps as Python ints: exact past 2**53, where a float64 would round them.
    steps = np.array([int(line.split(",", 1)[0]) for line in lines], dtype=np.int64)
    values = np.loadtxt(lines, delimiter=",", ndmin=2, usecols=range(1, len(names)))
    values = values.reshape(len(lines), len(names) - 1)
    return {name: Table(steps, values[:, i]) for i, name in enumerate(names[1:])}
