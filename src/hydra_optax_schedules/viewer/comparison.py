"""One picture of a whole sweep: the Hydra callback that draws ``comparison.png``.

The viewer's config registers :class:`SweepComparison` under ``hydra.callbacks``. Hydra calls
``on_multirun_end`` in the process that launched the sweep, after every job has returned,
whichever launcher ran the jobs (in this process, or in others such as joblib's workers). So it
shares nothing with the jobs in memory: it reads back what each job left in its directory,
``schedule.csv`` and Hydra's own record of the job's overrides (``.hydra/overrides.yaml``).

A failed job writes no ``schedule.csv``, and Hydra then skips ``on_multirun_end``: the sweep
raises the first failure once every job has run, and the process exits with status 1. So
``on_multirun_start`` also registers the comparison with :mod:`atexit`, which runs on that
exit; whichever comes first draws it, once. ``on_job_end``, which Hydra calls for every job,
failed or not, in the process that ran it, names each failed job in one line.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

import hydra_optax_schedules.viewer.plots as plots
import hydra_optax_schedules.viewer.table as tables

__all__ = [
    "COMPARISON_FILE",
    "Run",
    "SweepComparison",
    "compare",
    "find_runs",
    "labels_and_title",
]

COMPARISON_FILE = "comparison.png"
_CSV = "schedule.csv"


@dataclass(frozen=True)
class Run:
    """One job of a sweep: where it wrote its files, its overrides, and its curves by column."""

    job_dir: Path
    overrides: tuple[str, ...]
    curves: dict[str, tables.Table]


class SweepComparison(Callback):
    """When a multirun ends, overlay every job's curves in ``<sweep dir>/comparison.png``.

    One panel per ``schedule.csv`` column (``lr``, then e.g. ``wd_schedule``). Only the CSVs
    written during this sweep are drawn: a reused ``hydra.sweep.dir`` may hold an earlier
    sweep's jobs, which are left out. With ``terminal_plot: true`` in the app's config, the
    learning rates (or the first column) are also drawn in the terminal. The comparison is
    drawn even if some jobs failed (see the module's docstring).
    """

    def __init__(self) -> None:
        self._earlier: dict[Path, int] = {}
        self._pending: DictConfig | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._earlier = _csv_versions(Path(config.hydra.sweep.dir))
        self._pending = config
        atexit.register(self._compare_pending)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status == JobStatus.FAILED and config.hydra.mode == RunMode.MULTIRUN:
            overrides = " ".join(job_return.overrides or []) or "(defaults)"
            error = str(job_return._return_value).splitlines()[0]  # the value raises if read
            print(
                f"job {config.hydra.job.num} failed ({overrides}): {error}",
                file=sys.stderr,
                flush=True,
            )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._compare_pending()

    def _compare_pending(self) -> None:
        """Draw the comparison, unless it is drawn already."""
        config, self._pending = self._pending, None
        if config is None:
            return
        atexit.unregister(self._compare_pending)
        compare(config, exclude=self._earlier)


def compare(config: DictConfig, *, exclude: Mapping[Path, int] | None = None) -> None:
    """Draw ``comparison.png`` (and the terminal plot) of the jobs in ``config``'s sweep dir."""
    sweep_dir = Path(config.hydra.sweep.dir)
    runs = find_runs(sweep_dir, config.hydra.output_subdir, exclude=exclude)
    if not runs:
        print(f"no {_CSV} written in {sweep_dir}: nothing to compare", flush=True)
        return
    labels, title = labels_and_title(runs)
    labelled = [(label, run.curves) for label, run in zip(labels, runs, strict=True)]
    report = []
    missing: list[ImportError] = []
    if config.get("terminal_plot", False):
        first = next(iter(labelled[0][1]))
        in_terminal = [(label, found[first]) for label, found in labelled if first in found]
        try:
            report.append(plots.terminal_plot(in_terminal, title, color=sys.stdout.isatty()))
        except ImportError as error:
            missing.append(error)
    try:
        plots.save_comparison_png(labelled, title, sweep_dir / COMPARISON_FILE)
        report.append(f"wrote {COMPARISON_FILE} ({len(runs)} runs) in {sweep_dir}")
    except ImportError as error:
        missing.append(error)
    if missing:
        report.insert(0, plots.missing_hint(missing))
    print("\n\n".join(report), flush=True)


def find_runs(
    sweep_dir: Path,
    output_subdir: str | None = ".hydra",
    *,
    exclude: Mapping[Path, int] | None = None,
) -> list[Run]:
    """Every job under ``sweep_dir`` that wrote a ``schedule.csv``, in job-number order.

    Args:
        sweep_dir: The sweep directory (``hydra.sweep.dir``).
        output_subdir: ``hydra.output_subdir``, where Hydra saved each job's
            ``overrides.yaml``; if ``None``, a job is labelled by its directory instead.
        exclude: CSV files to leave out unless modified since: path -> ``st_mtime_ns``.
    """
    exclude = exclude or {}
    runs = []
    for csv, version in _csv_versions(sweep_dir).items():
        if exclude.get(csv) == version:
            continue
        job_dir = csv.parent
        overrides_file = job_dir / output_subdir / "overrides.yaml" if output_subdir else None
        if overrides_file is not None and overrides_file.is_file():
            overrides = tuple(str(item) for item in OmegaConf.load(overrides_file))
        else:
            overrides = (job_dir.relative_to(sweep_dir).as_posix(),)
        runs.append(Run(job_dir, overrides, tables.read_csv(csv)))
    return sorted(runs, key=lambda run: _natural_key(run.job_dir.relative_to(sweep_dir)))


def labels_and_title(runs: Sequence[Run]) -> tuple[list[str], str]:
    """A legend label per run (the overrides that differ) and a title (those all runs share)."""
    shared = [item for item in runs[0].overrides if all(item in run.overrides for run in runs)]
    labels = [" ".join(item for item in run.overrides if item not in shared) for run in runs]
    if not all(labels):  # some run has nothing of its own: label every run in full
        labels = [" ".join(run.overrides) or "(defaults)" for run in runs]
        shared = []
    title = f"{len(runs)} run{'s' if len(runs) > 1 else ''}"
    title += f": {' '.join(shared)}" if shared else ""
    return labels, title


def _csv_versions(sweep_dir: Path) -> dict[Path, int]:
    """Each ``schedule.csv`` under ``sweep_dir``, with its modification time in nanoseconds."""
    if not sweep_dir.is_dir():
        return {}
    return {path: path.stat().st_mtime_ns for path in sweep_dir.rglob(_CSV)}


def _natural_key(relative: Path) -> tuple[tuple[int, int, str], ...]:
    """Sort job directories ``0, 1, 2, ..., 10`` by number, other names alphabetically."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in relative.parts)
