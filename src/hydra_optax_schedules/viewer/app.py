"""The schedule viewer: see a learning-rate schedule before training with it.

``python -m hydra_optax_schedules`` (or ``lrview``) is a Hydra app over the same ``scheduler``
group that a training app gets, so the same overrides apply::

    python -m hydra_optax_schedules scheduler=cosine scheduler.lr=3e-4 steps=10000 \\
        scheduler.warmup_steps=500

A run prints a summary (pieces, peak, final and mean value), draws the curve in the terminal,
and writes ``schedule.csv`` and ``schedule.png`` into Hydra's output directory. It does so for
every schedule in the config (any node whose ``_target_`` is this package's builder, e.g.
``+scheduler@wd_schedule=linear``), each given the run length ``steps`` as its ``decay_steps``
unless the node sets one. A long run is evaluated at a bounded sample of steps that holds every
phase boundary (:mod:`.sampling`). With ``-m`` every job writes its own files, and when the
sweep ends :class:`~.comparison.SweepComparison` draws all of them in one picture. Without
the ``viz`` extra, the pictures are skipped and one line says how to get them.

A mistake in the viewer's own options (``steps``, ``csv_every_step``) or in a schedule is one
line on stderr and exit status 1, without a traceback; in a multirun the job fails, the sweep
goes on, and the sweep exits with status 1 after comparing the jobs that succeeded.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

import hydra_optax_schedules.viewer.group_view as group_view
import hydra_optax_schedules.viewer.plots as plots
import hydra_optax_schedules.viewer.sampling as sampling
import hydra_optax_schedules.viewer.table as tables
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.hydra_options import BUILDER_TARGET
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler, build_schedule
from hydra_optax_schedules.values import MAX_STEPS
from hydra_optax_schedules.viewer.summary import Summary, format_summary, summarize

__all__ = [
    "CONFIG_PATH",
    "MAX_CSV_ROWS",
    "ViewerError",
    "main",
    "preview",
    "schedule_nodes",
    "view",
]

#: Where the viewer's ``viewer.yaml`` lives: inside the package, so it works from any directory.
CONFIG_PATH = "pkg://hydra_optax_schedules.viewer.conf"
#: The longest ``schedule.csv`` that ``csv_every_step=true`` writes (about 250 MB).
MAX_CSV_ROWS = 10**7
#: The key of the learning-rate schedule, whose CSV column is ``lr``.
LR_KEY = "scheduler"
_BUILDERS = {BUILDER_TARGET, f"{build_schedule.__module__}.{build_schedule.__name__}"}
_CHUNK = 10**6  # rows evaluated at once when every step is written


class ViewerError(CompactHydraException):
    """A viewer option or a schedule that cannot be previewed; the message is one line."""


def view(cfg: DictConfig) -> None:
    """Hydra task: summarize, draw and save every schedule in ``cfg``.

    In a single run, a mistake (:class:`ViewerError`, ``ScheduleConfigError``) is printed as one
    line on stderr and the process exits with status 1. In a multirun it fails the job as a
    :class:`ViewerError`, so that the sweep goes on and Hydra reports it.
    """
    try:
        _view(cfg)
    except (ViewerError, ScheduleConfigError) as error:
        if HydraConfig.get().mode == RunMode.RUN:
            print(error, file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        raise ViewerError(str(error)) from None


def _view(cfg: DictConfig) -> None:
    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    overrides = list(hydra_config.overrides.task)
    described = " ".join(overrides) or "defaults"
    # A sweep draws its jobs together in the terminal and gives the install hint once, at
    # its end (comparison.py); each job still writes its own files.
    single_run = hydra_config.mode == RunMode.RUN

    steps = check_steps(cfg.get("steps"))
    every_step = check_csv_every_step(cfg.get("csv_every_step", False), steps)
    schedules = {key: build_with_run_length(node, steps) for key, node in schedule_nodes(cfg)}
    if not schedules:
        raise ViewerError(
            f"no schedule in the config: add one, e.g. {LR_KEY}=cosine (a schedule is a node "
            f"whose _target_ is {BUILDER_TARGET})"
        )
    sampled, summaries = preview(schedules, steps)
    optimizers = group_view.preview_optimizers(
        cfg, schedules, sampled[0].steps, steps, cfg.get("params")
    )
    columns = [column_name(key) for key in schedules]
    group_columns = [column for optimizer in optimizers for column in optimizer.columns()]
    if every_step:
        rows = _every_step(list(schedules.values()), steps)
    else:
        rows = iter([(sampled[0].steps, [curve.values for curve in sampled])])
    tables.write_csv(
        out_dir / "schedule.csv",
        columns + group_columns,
        group_view.with_groups(rows, optimizers),
    )
    written = ["schedule.csv"]

    several = len(summaries) > 1
    report = [format_summary(summaries, overrides)]
    report += [optimizer.report(steps) for optimizer in optimizers]
    missing: list[ImportError] = []
    if cfg.get("terminal_plot", True) and single_run:
        try:
            for curve, summary in zip(sampled, summaries, strict=True):
                title = (
                    f"{summary.key}: {summary.name}" if several else f"{summary.name}: {described}"
                )
                report.append(
                    plots.terminal_plot(
                        [("", curve)],
                        title,
                        boundaries=summary.boundaries,
                        color=sys.stdout.isatty(),
                    )
                )
        except ImportError as error:
            missing.append(error)
    try:
        panels = [
            (plots.axis_label(column), curve, summary)
            for column, curve, summary in zip(columns, sampled, summaries, strict=True)
        ]
        title = (
            f"{len(summaries)} schedules: {described}"
            if several
            else f"{summaries[0].name}: {described}"
        )
        plots.save_schedule_png(panels, title, out_dir / "schedule.png")
        written.append("schedule.png")
        if optimizers:
            group_view.save_groups_png(optimizers, described, out_dir / group_view.GROUPS_PNG)
            written.append(group_view.GROUPS_PNG)
    except ImportError as error:
        missing.append(error)
    if missing and single_run:
        report.append(plots.missing_hint(missing))
    report.append(f"wrote {', '.join(written)} in {out_dir}")
    # One write, so that jobs running side by side (joblib) do not interleave their lines.
    print("\n\n".join(report), flush=True)


def preview(schedules: dict[str, Schedule], steps: int) -> tuple[list[tables.Table], list[Summary]]:
    """Each schedule's curve at the run's sample of steps (shared by all), and its summary."""
    spans = [(phase.start, phase.end) for s in schedules.values() for phase in s.phases]
    ends = sampling.segment_ends(spans, steps)

    def magnitude(at: np.ndarray) -> np.ndarray:
        values = [np.abs(tables.evaluate(s, at).values) for s in schedules.values()]
        largest: np.ndarray = np.max(values, axis=0)
        return largest

    grid = sampling.sample_steps(ends, steps, magnitude)
    sampled, summaries = [], []
    for key, schedule in schedules.items():
        curve = tables.evaluate(schedule, grid)
        mean = sampling.mean_over_steps(schedule, steps, (curve.steps, curve.values), ends)
        sampled.append(curve)
        summaries.append(summarize(key, schedule, curve, mean))
    return sampled, summaries


def check_steps(value: Any) -> int:
    """``steps`` as a Python int in ``[1, 2**63)``, or a :class:`ViewerError` naming it."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or not 1 <= value <= MAX_STEPS:
        raise ViewerError(
            f"steps={value!r} is invalid: expected the run length, a whole number of steps "
            "in [1, 2**63 - 1]"
        )
    return int(value)


def check_csv_every_step(value: Any, steps: int) -> bool:
    """``csv_every_step`` as a bool, or a :class:`ViewerError` if it is not one or if the
    run has more than ``MAX_CSV_ROWS`` rows to write."""
    if not isinstance(value, bool):
        raise ViewerError(f"csv_every_step={value!r} is invalid: expected true or false")
    if value and steps + 1 > MAX_CSV_ROWS:
        raise ViewerError(
            f"csv_every_step=true is invalid with steps={steps}: it writes at most "
            f"{MAX_CSV_ROWS} rows (steps < {MAX_CSV_ROWS}); without it the CSV is sampled"
        )
    return value


def schedule_nodes(cfg: DictConfig) -> Iterator[tuple[str, DictConfig]]:
    """Every schedule in ``cfg``, in config order: ``(dotted key, node)``.

    A schedule is a mapping whose ``_target_`` is this package's builder, wherever it is
    mounted (``scheduler``, ``wd_schedule``, ``optim.ema``, ...), whatever its name.
    """
    plain = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict)  # a DictConfig's container

    def walk(mapping: dict[Any, Any], prefix: str) -> Iterator[str]:
        for key, value in mapping.items():
            if not isinstance(value, dict):
                continue
            path = f"{prefix}{key}"
            if value.get("_target_") in _BUILDERS:
                yield path
            else:
                yield from walk(value, f"{path}.")

    for path in walk(plain, ""):
        yield path, OmegaConf.select(cfg, path)


def build_with_run_length(node: DictConfig, steps: int) -> Schedule:
    """Build the schedule at ``node``, its ``decay_steps`` set to ``steps`` if it has none.

    As ``instantiate(node, decay_steps=steps)`` in a training app; 0 means "not given", as
    ``None`` does. An error that blames ``decay_steps`` then says where its value came from.
    """
    filled = node.get("decay_steps") in (None, 0)
    if filled:
        with open_dict(node):  # a node of the user's own YAML may lack the key
            node.decay_steps = steps
    try:
        return build_lr_scheduler(node)
    except ScheduleConfigError as error:
        if filled and error.field == "decay_steps":
            key = node._get_full_key(None)
            raise ScheduleConfigError(
                f"{error} ({key}.decay_steps is the run length, steps={steps})",
                field=error.field,
            ) from None
        raise


def column_name(key: str) -> str:
    """The ``schedule.csv`` column of the schedule at ``key``: ``lr`` for ``scheduler``."""
    return tables.LR_COLUMN if key == LR_KEY else key


def _every_step(
    schedules: list[Schedule], steps: int
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """Blocks of every step ``0..steps`` and each schedule's values there."""
    for first in range(0, steps + 1, _CHUNK):
        block = np.arange(first, min(first + _CHUNK, steps + 1), dtype=np.int64)
        yield block, [tables.evaluate(schedule, block).values for schedule in schedules]


# The console script and ``__main__``: ``main()`` reads the overrides from ``sys.argv``. ``view``
# itself stays a plain module-level function, so a launcher that runs jobs in other processes
# (joblib) sends it by reference.
main = hydra.main(config_path=CONFIG_PATH, config_name="viewer", version_base="1.3")(view)
