"""The sweep comparison: a Hydra callback any app enables to compare its sweep's schedules.

Add it to the app's primary config; every ``-m`` sweep then writes, into its sweep directory,
``comparison.png`` (every job's schedules overlaid, one panel per schedule key),
``comparison.csv`` (a row per job and schedule: label, objective, peak, final, mean) and a
summary in the terminal::

    hydra:
      callbacks:
        compare_schedules:
          _target_: hydra_optax_schedules.viewer.CompareSchedules
          run_length_key: steps   # the key your app passes as the run length (decay_steps)

It works with any sweeper and launcher (basic, joblib, submitit, Optuna): Hydra calls
``on_job_end`` in the process that ran the job (a worker, for joblib or submitit), so each job
leaves its record in a file, ``<sweep dir>/.schedules/<job number>.json``: its overrides, the
value its task returned (the objective, when it is a number), and each schedule's sampled curve
and summary, built from the job's own config exactly as ``lrview`` builds it
(:func:`.app.build_with_run_length`: the run length from ``run_length_key``, unless the
schedule sets its own ``decay_steps``). ``on_multirun_end`` runs in the process that launched
the sweep; it reads the records written during this sweep (a reused sweep directory's earlier
ones are left out) and draws them. Each curve is labelled by its job's swept values
(:func:`.labels.sweep_labels`) and its objective.

A failed job leaves a record of its error, and Hydra then skips ``on_multirun_end`` (the sweep
raises the first failure once every job has run): ``on_multirun_start`` also registers the
comparison with :mod:`atexit`, and whichever comes first draws it, once. ``on_job_end`` names
each failed job in one line. A schedule that cannot be built from a job's config is named in
one line too; the callback never fails a job.

Importing this module imports neither matplotlib nor plotext: they are imported to draw.
"""

from __future__ import annotations

import atexit
import csv
import json
import numbers
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

import hydra_optax_schedules.viewer.app as app
import hydra_optax_schedules.viewer.plots as plots
import hydra_optax_schedules.viewer.table as tables
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.hydra_options import BUILDER_TARGET
from hydra_optax_schedules.viewer.labels import format_numbers, sweep_labels

__all__ = [
    "COMPARISON_CSV",
    "COMPARISON_FILE",
    "RECORDS_DIR",
    "CompareSchedules",
    "JobRecord",
    "SweepComparison",
    "compare",
    "labels_and_title",
    "legend_labels",
    "read_records",
    "summary_table",
]

COMPARISON_FILE = "comparison.png"
COMPARISON_CSV = "comparison.csv"
#: The directory of the sweep directory where each job leaves its record.
RECORDS_DIR = ".schedules"
#: The columns of ``comparison.csv``.
CSV_COLUMNS = (
    "job",
    "label",
    "objective",
    "schedule",
    "name",
    "peak",
    "peak_step",
    "final",
    "mean",
    "overrides",
)


@dataclass(frozen=True)
class ScheduleRecord:
    """One schedule of a job: its key, column, family, sampled curve and summary numbers."""

    key: str
    column: str
    name: str
    curve: tables.Table
    peak: float
    peak_step: int
    final: float
    mean: float


@dataclass(frozen=True)
class JobRecord:
    """What a job left for the comparison (see the module's docstring)."""

    job: int
    overrides: tuple[str, ...]
    objective: float | None
    schedules: tuple[ScheduleRecord, ...]
    error: str | None


class CompareSchedules(Callback):
    """When a multirun ends, compare its jobs' schedules in the sweep directory.

    Args:
        run_length_key: The key of the job's config that holds the run length the app gives
            its schedules (``steps`` for ``instantiate(cfg.scheduler, run_steps=cfg.steps)``,
            ``trainer.max_steps``, ...), read in each job's own config. If it is ``None`` or
            the job's config has no value there, the ``decay_steps`` every schedule sets
            (:func:`.app.run_length`); a job without either is named as not compared.
        log_scale: Draw the values on a logarithmic axis (values of 0 are left out).
        terminal_plot: Also draw the learning rates in the terminal.
    """

    def __init__(
        self,
        run_length_key: str | None = None,
        log_scale: bool = False,
        terminal_plot: bool = True,
    ) -> None:
        if run_length_key is not None and (
            not isinstance(run_length_key, str) or not run_length_key
        ):
            raise ValueError(
                f"run_length_key={run_length_key!r} is invalid: expected the key of the run "
                "length in your config, e.g. run_length_key: steps (the key, not ${steps}: "
                "each job's own value is read from its config)"
            )
        for name, value in (("log_scale", log_scale), ("terminal_plot", terminal_plot)):
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r} is invalid: expected true or false")
        self.run_length_key = run_length_key
        self.log_scale = log_scale
        self.terminal_plot = terminal_plot
        self._earlier: dict[Path, int] = {}
        self._sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._sweep_dir = Path(config.hydra.sweep.dir)
        self._earlier = _record_versions(self._sweep_dir)
        atexit.register(self._compare_pending)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        number = int(config.hydra.job.num)
        overrides = tuple(str(item) for item in (job_return.overrides or ()))
        if job_return.status == JobStatus.FAILED:
            error = _one_line(job_return._return_value)  # the value raises if read
            described = " ".join(overrides) or "(defaults)"
            print(f"job {number} failed ({described}): {error}", file=sys.stderr, flush=True)
            record = JobRecord(number, overrides, None, (), f"failed: {error}")
        else:
            record = self._record(config, number, overrides, job_return.return_value)
        _write_record(Path(config.hydra.sweep.dir), record)

    def _record(
        self, config: DictConfig, number: int, overrides: tuple[str, ...], returned: Any
    ) -> JobRecord:
        """The job's schedules as its app builds them; an error in one line if they cannot be."""
        objective = _objective(returned)
        # The callback must not fail a job that its app ran: whatever goes wrong here (a
        # schedule the app never builds, a bad run length) is reported, and the job is left
        # out of the comparison.
        try:
            schedules = _job_schedules(config, self.run_length_key)
        except Exception as error:
            text = _one_line(error)
            print(f"job {number} not compared: {text}", file=sys.stderr, flush=True)
            return JobRecord(number, overrides, objective, (), f"not compared: {text}")
        return JobRecord(number, overrides, objective, schedules, None)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._compare_pending()

    def _compare_pending(self) -> None:
        """Draw the comparison, unless it is drawn already."""
        sweep_dir, self._sweep_dir = self._sweep_dir, None
        if sweep_dir is None:
            return
        atexit.unregister(self._compare_pending)
        compare(
            sweep_dir,
            exclude=self._earlier,
            log_scale=self.log_scale,
            terminal_plot=self.terminal_plot,
        )


class SweepComparison(CompareSchedules):
    """``lrview``'s callback before 0.3 (saved sweep configs name it): the run length is
    ``steps``."""

    def __init__(self, log_scale: bool = False, terminal_plot: bool = True) -> None:
        super().__init__("steps", log_scale=log_scale, terminal_plot=terminal_plot)


def _one_line(error: BaseException) -> str:
    """The first line of the error at the root of ``error``'s causes: the schedule's own
    message, not Hydra's ``Error in call to target ...`` around it."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__


def _objective(returned: Any) -> float | None:
    """The job's return value as a number, if it is one (a bool is not)."""
    if isinstance(returned, numbers.Real) and not isinstance(returned, bool):
        return float(returned)
    return None


def _job_schedules(config: DictConfig, run_length_key: str | None) -> tuple[ScheduleRecord, ...]:
    """Every schedule of the job's config (outside ``hydra``), sampled as ``lrview`` does."""
    nodes = [
        (key, node) for key, node in app.schedule_nodes(config) if key.split(".")[0] != "hydra"
    ]
    if not nodes:
        raise ScheduleConfigError(
            f"no schedule in the config (a node whose _target_ is {BUILDER_TARGET})"
        )
    steps = app.run_length(config, run_length_key, nodes)
    resume_step = app.check_resume_step(config.get("resume_step"))  # lrview's option
    built = {key: app.build_with_run_length(node, steps, resume_step) for key, node in nodes}
    sampled, summaries = app.preview(built, steps)
    return tuple(
        ScheduleRecord(
            key=summary.key,
            column=app.column_name(summary.key),
            name=summary.name,
            curve=curve,
            peak=summary.peak,
            peak_step=summary.peak_step,
            final=summary.final,
            mean=summary.mean.value,
        )
        for curve, summary in zip(sampled, summaries, strict=True)
    )


def _write_record(sweep_dir: Path, record: JobRecord) -> None:
    """Write the record whole (a temporary file renamed), so a reader never sees half."""
    directory = sweep_dir / RECORDS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "job": record.job,
        "overrides": list(record.overrides),
        "objective": record.objective,
        "error": record.error,
        "schedules": [
            {
                "key": s.key,
                "column": s.column,
                "name": s.name,
                "peak": s.peak,
                "peak_step": s.peak_step,
                "final": s.final,
                "mean": s.mean,
                "steps": s.curve.steps.tolist(),
                "values": s.curve.values.tolist(),
            }
            for s in record.schedules
        ],
    }
    path = directory / f"{record.job}.json"
    temporary = directory / f".{record.job}.json.{os.getpid()}"
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def read_records(sweep_dir: Path, *, exclude: Mapping[Path, int] | None = None) -> list[JobRecord]:
    """The records under ``sweep_dir``, in job order, but those in ``exclude`` (path ->
    ``st_mtime_ns``) unless modified since."""
    exclude = exclude or {}
    records = []
    for path, version in _record_versions(sweep_dir).items():
        if exclude.get(path) == version:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        schedules = tuple(
            ScheduleRecord(
                key=s["key"],
                column=s["column"],
                name=s["name"],
                curve=tables.Table(
                    np.asarray(s["steps"], dtype=np.int64), np.asarray(s["values"], dtype=float)
                ),
                peak=s["peak"],
                peak_step=s["peak_step"],
                final=s["final"],
                mean=s["mean"],
            )
            for s in data["schedules"]
        )
        records.append(
            JobRecord(
                data["job"], tuple(data["overrides"]), data["objective"], schedules, data["error"]
            )
        )
    return sorted(records, key=lambda record: record.job)


def _record_versions(sweep_dir: Path) -> dict[Path, int]:
    directory = sweep_dir / RECORDS_DIR
    if not directory.is_dir():
        return {}
    return {path: path.stat().st_mtime_ns for path in directory.glob("*.json")}


def labels_and_title(records: Sequence[JobRecord]) -> tuple[list[str], str]:
    """Each job's label (its swept values) and the title (the overrides all jobs share)."""
    labels, shared = sweep_labels([record.overrides for record in records])
    title = f"{len(records)} run{'s' if len(records) != 1 else ''}"
    return labels, title + (f": {' '.join(shared)}" if shared else "")


def legend_labels(records: Sequence[JobRecord], labels: Sequence[str]) -> list[str]:
    """Each label followed by its job's objective, if the job returned a number."""
    objectives = _formatted([record.objective for record in records])
    return [
        f"{label} (objective {objective})" if objective else label
        for label, objective in zip(labels, objectives, strict=True)
    ]


def compare(
    sweep_dir: Path,
    *,
    exclude: Mapping[Path, int] | None = None,
    log_scale: bool = False,
    terminal_plot: bool = True,
) -> None:
    """Write ``comparison.csv`` and ``comparison.png`` and print the summary of the jobs
    whose records are in ``sweep_dir``."""
    records = read_records(sweep_dir, exclude=exclude)
    drawn = [record for record in records if record.error is None]
    left_out = [record for record in records if record.error is not None]
    if not drawn:
        print(f"no schedule to compare in {sweep_dir}", flush=True)
        return
    labels, title = labels_and_title(drawn)
    _write_csv(sweep_dir / COMPARISON_CSV, drawn, labels)
    report = [summary_table(drawn, labels, title)]
    if left_out:
        report.append(
            "\n".join(f"job {record.job} left out: {record.error}" for record in left_out)
        )
    labelled = [
        (label, {s.column: s.curve for s in record.schedules})
        for label, record in zip(legend_labels(drawn, labels), drawn, strict=True)
    ]
    missing: list[ImportError] = []
    if terminal_plot:
        first = next(iter(labelled[0][1]))
        in_terminal = [(label, curves[first]) for label, curves in labelled if first in curves]
        try:
            report.append(
                plots.terminal_plot(
                    in_terminal, title, color=sys.stdout.isatty(), log_scale=log_scale
                )
            )
        except ImportError as error:
            missing.append(error)
    written = [COMPARISON_CSV]
    try:
        plots.save_comparison_png(labelled, title, sweep_dir / COMPARISON_FILE, log_scale=log_scale)
        written.append(COMPARISON_FILE)
    except ImportError as error:
        missing.append(error)
    if missing:
        report.append(plots.missing_hint(missing))
    report.append(f"wrote {' and '.join(written)} ({len(drawn)} runs) in {sweep_dir}")
    print("\n\n".join(report), flush=True)


def summary_table(records: Sequence[JobRecord], labels: Sequence[str], title: str) -> str:
    """The terminal summary: a row per job, its label, objective (if any job returned one),
    and the peak, final and mean of its first schedule's column (the learning rate)."""
    column = records[0].schedules[0].column
    first = [next((s for s in r.schedules if s.column == column), None) for r in records]
    table = {"job": [str(record.job) for record in records], "run": list(labels)}
    objectives = [record.objective for record in records]
    if any(value is not None for value in objectives):
        table["objective"] = _formatted(objectives)
    for name in ("peak", "final", "mean"):
        table[name] = _formatted([None if s is None else getattr(s, name) for s in first])
    widths = [max(len(name), *map(len, cells)) for name, cells in table.items()]
    rows = [list(table), *([cells[i] for cells in table.values()] for i in range(len(records)))]
    lines = [f"{title} ({column})"]
    for row in rows:
        cells = (text.ljust(width) for text, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _formatted(values: Sequence[float | None]) -> list[str]:
    """The numbers among ``values`` in one format (:func:`.labels.format_numbers`); ``""``
    for ``None``."""
    texts = iter(format_numbers([value for value in values if value is not None]))
    return [next(texts) if value is not None else "" for value in values]


def _write_csv(path: Path, records: Sequence[JobRecord], labels: Sequence[str]) -> None:
    """``comparison.csv``: a row per job and schedule; numbers as the shortest exact text."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for record, label in zip(records, labels, strict=True):
            for s in record.schedules:
                objective = "" if record.objective is None else repr(record.objective)
                writer.writerow(
                    [
                        record.job,
                        label,
                        objective,
                        s.column,
                        s.name,
                        repr(s.peak),
                        s.peak_step,
                        repr(s.final),
                        repr(s.mean),
                        " ".join(record.overrides),
                    ]
                )
