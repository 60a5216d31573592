"""The schedule viewer: see a learning-rate schedule before training with it.

``python -m hydra_optax_schedules`` (or ``lrview``) is a Hydra app over the same ``scheduler``
group that a training app gets, so the same overrides apply::

    python -m hydra_optax_schedules scheduler=cosine scheduler.lr=3e-4 steps=10000 \\
        scheduler.warmup_steps=500

A run prints a summary (pieces, peak, final and mean value), draws the curve in the terminal,
and writes ``schedule.csv`` and ``schedule.png`` into Hydra's output directory. It does so for
every schedule in the config (any node whose ``_target_`` is this package's builder, e.g.
``+scheduler@wd_schedule=linear``), each given the run length ``steps`` as a training app
gives it (``instantiate(node, run_steps=steps)``): a node that sets another ``decay_steps`` is
an error naming both. A long run is evaluated at a bounded sample of steps that holds every
phase boundary (:mod:`.sampling`). With ``-m`` every job writes its own files, and when the
sweep ends :class:`~.comparison.CompareSchedules` compares them all (the callback any app
can enable), with each job's return value, its mean learning rate (:func:`objective`). Without
the ``viz`` extra, the pictures are skipped and one line says how to get them.

``lrview --config-path conf --config-name train`` previews an app's own config instead, as the
app composes it (:func:`app_arguments`); the run length is then that config's ``steps`` if it
has one, else the ``decay_steps`` its schedules set (:func:`run_length`).

A mistake in the viewer's own options (``steps``, ``csv_every_step``) or in a schedule is one
line on stderr and exit status 1, without a traceback; in a multirun the job fails, the sweep
goes on, and the sweep exits with status 1 after comparing the jobs that succeeded.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

import hydra_optax_schedules.viewer.group_view as group_view
import hydra_optax_schedules.viewer.plots as plots
import hydra_optax_schedules.viewer.sampling as sampling
import hydra_optax_schedules.viewer.table as tables
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.hydra_options import BUILDER_TARGET
from hydra_optax_schedules.resume import cooldown_end
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler, build_schedule
from hydra_optax_schedules.values import MAX_STEPS
from hydra_optax_schedules.viewer.summary import Summary, format_summary, summarize

__all__ = [
    "CONFIG_PATH",
    "MAX_CSV_ROWS",
    "OPTIONS",
    "ViewerError",
    "app_arguments",
    "main",
    "objective",
    "preview",
    "run_length",
    "schedule_nodes",
    "view",
]

#: Where the viewer's ``viewer.yaml`` lives: inside the package, so it works from any directory.
CONFIG_PATH = "pkg://hydra_optax_schedules.viewer.conf"
#: The longest ``schedule.csv`` that ``csv_every_step=true`` writes (about 250 MB).
MAX_CSV_ROWS = 10**7
#: The key of the learning-rate schedule, whose CSV column is ``lr``.
LR_KEY = tables.LR_KEY
#: The viewer's run length option.
RUN_LENGTH_KEY = "steps"
#: The viewer's own options: previewing an app's config (``--config-name``), they are set
#: whether or not that config has such a key (``steps=...`` is given as ``++steps=...``).
OPTIONS = (RUN_LENGTH_KEY, "terminal_plot", "csv_every_step", "log_scale", "resume_step")
#: The callback that compares a sweep's schedules, as the viewer's config and an app's name it.
COMPARE_CALLBACK = "hydra.callbacks.compare_schedules"
_BUILDERS = {BUILDER_TARGET, f"{build_schedule.__module__}.{build_schedule.__name__}"}
_CHUNK = 10**6  # rows evaluated at once when every step is written


class ViewerError(CompactHydraException):
    """A viewer option or a schedule that cannot be previewed; the message is one line."""


def view(cfg: DictConfig) -> float:
    """Hydra task: summarize, draw and save every schedule in ``cfg``; return the objective
    (:func:`objective`, the mean learning rate).

    In a single run, a mistake (:class:`ViewerError`, ``ScheduleConfigError``) is printed as one
    line on stderr and the process exits with status 1. In a multirun it fails the job as a
    :class:`ViewerError`, so that the sweep goes on and Hydra reports it. A field without
    effect (``IgnoredFieldWarning``) is one line on stderr, ``warning: <its message>``: the
    config is the viewer's input, and Python's form would point at the viewer's own code.
    """
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning(warnings.showwarning)
            return _view(cfg)
    except (ViewerError, ScheduleConfigError) as error:
        if HydraConfig.get().mode == RunMode.RUN:
            print(error, file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        raise ViewerError(str(error)) from None


def _show_warning(show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints an ``IgnoredFieldWarning`` as ``warning: ...`` on
    stderr, and any other warning as ``show`` does."""

    def shown(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, IgnoredFieldWarning):
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            show(message, category, *args, **kwargs)

    return shown


def _view(cfg: DictConfig) -> float:
    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    overrides = list(hydra_config.overrides.task)
    described = " ".join(overrides) or "defaults"
    # A sweep draws its jobs together in the terminal and gives the install hint once, at
    # its end (comparison.py); each job still writes its own files.
    single_run = hydra_config.mode == RunMode.RUN

    nodes = list(schedule_nodes(cfg))
    if not nodes:
        raise ViewerError(
            f"no schedule in the config: add one, e.g. {LR_KEY}=cosine (a schedule is a node "
            f"whose _target_ is {BUILDER_TARGET})"
        )
    steps = run_length(cfg, RUN_LENGTH_KEY, nodes)
    log_scale = check_flag("log_scale", cfg.get("log_scale", False))
    resume_step = check_resume_step(cfg.get("resume_step"))
    schedules = {key: build_with_run_length(node, steps, resume_step) for key, node in nodes}
    steps = branched_length(nodes, schedules, steps)
    every_step = check_csv_every_step(cfg.get("csv_every_step", False), steps)
    sampled, summaries = preview(schedules, steps)
    optimizers = group_view.preview_optimizers(
        cfg, schedules, sampled[0].steps, steps, cfg.get("params"), resume_step
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
                title = plots.panel_title(summary)
                title = title if several else f"{title}: {described}"
                report.append(
                    plots.terminal_plot(
                        [("", curve)],
                        title,
                        boundaries=summary.boundaries,
                        color=sys.stdout.isatty(),
                        log_scale=log_scale,
                    )
                )
        except ImportError as error:
            missing.append(error)
    try:
        panels = [
            (plots.axis_label(column), curve, summary)
            for column, curve, summary in zip(columns, sampled, summaries, strict=True)
        ]
        title = f"{len(summaries)} schedules: {described}" if several else described
        second_axis = unit_axis(schedules, sampled)
        plots.save_schedule_png(
            panels, title, out_dir / "schedule.png", log_scale=log_scale, unit_axis=second_axis
        )
        written.append("schedule.png")
        if optimizers:
            group_view.save_groups_png(
                optimizers, described, out_dir / group_view.GROUPS_PNG, log_scale=log_scale
            )
            written.append(group_view.GROUPS_PNG)
    except ImportError as error:
        missing.append(error)
    if missing and single_run:
        report.append(plots.missing_hint(missing))
    report.append(f"wrote {', '.join(written)} in {out_dir}")
    # One write, so that jobs running side by side (joblib) do not interleave their lines.
    print("\n\n".join(report), flush=True)
    return objective(summaries)


def objective(summaries: list[Summary]) -> float:
    """What a job returns to its sweeper: the mean learning rate over the run's updates (of
    ``scheduler``, else of the first schedule), so that a sweeper that needs a number
    (Optuna) runs; minimizing it means nothing for training."""
    chosen = next((s for s in summaries if s.key == LR_KEY), summaries[0])
    return float(chosen.mean.value)


def unit_axis(schedules: dict[str, Schedule], sampled: list[tables.Table]) -> Any:
    """``(label, steps -> unit, unit -> steps)`` for a second x axis, from the first schedule
    counted in a unit (docs/units.md), or ``None``: the count at the sampled steps, exact on
    the host, interpolated between them for the axis' ticks."""
    for schedule, curve in zip(schedules.values(), sampled, strict=True):
        units = schedule.config.units
        if units is None or units.unit == "steps":
            continue
        steps = np.asarray(curve.steps, dtype=np.float64)
        per = units.samples_per_epoch or 1
        counts = np.asarray([schedule.count_at(int(s)) / per for s in curve.steps])
        return (
            units.unit,
            lambda x, s=steps, c=counts: np.interp(x, s, c),
            lambda u, s=steps, c=counts: np.interp(u, c, s),
        )
    return None


def preview(schedules: dict[str, Schedule], steps: int) -> tuple[list[tables.Table], list[Summary]]:
    """Each schedule's curve at the run's sample of steps (shared by all), and its summary."""
    spans = [  # in steps: a piece counted in a unit (docs/units.md) starts at step_at(start)
        (s.step_at(phase.start), None if phase.end is None else s.step_at(phase.end))
        for s in schedules.values()
        for phase in s.phases
    ]
    spans += [(step, None) for s in schedules.values() for step in s.batch_steps]
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


def check_steps(value: Any, name: str = "steps") -> int:
    """The run length ``value`` as a Python int in ``[1, 2**63)``, or a :class:`ViewerError`
    naming it (``name``: where it came from)."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or not 1 <= value <= MAX_STEPS:
        raise ViewerError(
            f"{name}={value!r} is invalid: expected the run length, a whole number of steps "
            "in [1, 2**63 - 1]"
        )
    return int(value)


def run_length(cfg: DictConfig, key: str | None, nodes: list[tuple[str, DictConfig]]) -> int:
    """The run length to preview: the value at ``key`` (``steps``) of ``cfg``, checked.

    If ``cfg`` has no such key (an app's config) or ``key`` is ``None``: the ``decay_steps``
    that every schedule sets, or a :class:`ViewerError` that says what to give.
    """
    absent = object()
    value = absent if key is None else OmegaConf.select(cfg, key, default=absent)
    if value is not absent:
        return check_steps(value, key or RUN_LENGTH_KEY)
    own = {path: node.get("decay_steps") for path, node in nodes}
    lengths = set(own.values())
    if len(lengths) == 1 and None not in lengths and 0 not in lengths:
        return check_steps(lengths.pop(), f"{nodes[0][0]}.decay_steps")
    given = ", ".join(f"{path}.decay_steps={length}" for path, length in own.items())
    name = key or RUN_LENGTH_KEY
    missing = f"the config has no {key}" if key else "no run length is given"
    raise ViewerError(
        f"{missing} and its schedules do not set one decay_steps ({given}): give the run "
        f"length your app passes to its schedules, e.g. {name}=10000 or "
        f"'{name}=${{trainer.max_steps}}'"
    )


def branched_length(
    nodes: list[tuple[str, DictConfig]], schedules: dict[str, Schedule], steps: int
) -> int:
    """The length of the run to preview: ``steps``, or, if a schedule's cooldown is branched
    off the resume step (``cooldown_start: resume``), the step that cooldown ends at
    (:func:`~hydra_optax_schedules.resume.cooldown_end`): a branched run ends there, as the
    example trainer's does (the latest, if several schedules are branched)."""
    branched = [schedules[key] for key, node in nodes if node.get("cooldown_start") == "resume"]
    ends = [end for end in map(cooldown_end, branched) if end is not None]
    return max(ends, default=steps)


def check_resume_step(value: Any) -> int | None:
    """The viewer's ``resume_step`` (``None``, or a step in ``[0, 2**63)``), or a
    :class:`ViewerError` naming it."""
    if value is None:
        return None
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or not 0 <= value <= MAX_STEPS:
        raise ViewerError(
            f"resume_step={value!r} is invalid: expected the step a run resumes at, a whole "
            "number of steps in [0, 2**63 - 1] (it previews cooldown_start=resume)"
        )
    return int(value)


def check_flag(name: str, value: Any) -> bool:
    """A viewer option that is true or false, or a :class:`ViewerError` naming it."""
    if not isinstance(value, bool):
        raise ViewerError(f"{name}={value!r} is invalid: expected true or false")
    return value


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


def build_with_run_length(node: DictConfig, steps: int, resume_step: int | None = None) -> Schedule:
    """Build the schedule at ``node`` with the run length ``steps``, as a training app gives
    it: ``instantiate(node, run_steps=steps, resume_step=resume_step)``. A node that leaves
    ``decay_steps`` unset (or 0) takes it; one that sets another value is an error naming
    both. An error that names ``run_steps`` (or ``resume_step``) says that it is the viewer's
    ``steps`` (or ``resume_step``).
    """
    try:
        return build_lr_scheduler(node, run_steps=steps, resume_step=resume_step)
    except ScheduleConfigError as error:
        if "resume_step=" in str(error):
            given = "none is given" if resume_step is None else f"it is {resume_step}"
            raise ScheduleConfigError(
                f"{error} (lrview's option resume_step: {given}; e.g. resume_step=4000)",
                field=error.field,
            ) from None
        if "run_steps=" in str(error):
            raise ScheduleConfigError(
                f"{error} (lrview passes steps={steps} as run_steps)", field=error.field
            ) from None
        raise


def column_name(key: str) -> str:
    """The ``schedule.csv`` column of the schedule at ``key``: ``lr`` for ``scheduler``."""
    return tables.column_name(key)


def _every_step(
    schedules: list[Schedule], steps: int
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """Blocks of every step ``0..steps`` and each schedule's values there."""
    for first in range(0, steps + 1, _CHUNK):
        block = np.arange(first, min(first + _CHUNK, steps + 1), dtype=np.int64)
        yield block, [tables.evaluate(schedule, block).values for schedule in schedules]


# ``view`` itself stays a plain module-level function, so a launcher that runs jobs in other
# processes (joblib) sends it by reference.
_hydra_main = hydra.main(config_path=CONFIG_PATH, config_name="viewer", version_base="1.3")(view)


def main() -> None:
    """The console script and ``__main__``: ``lrview [overrides]``, read from ``sys.argv``.

    With ``--config-name`` (and ``--config-path``, a directory, relative to the current one),
    the viewer previews an app's own config exactly as the app composes it, with the same
    overrides: see :func:`app_arguments`.
    """
    sys.argv[1:] = app_arguments(sys.argv[1:])
    _hydra_main()


def app_arguments(args: list[str]) -> list[str]:
    """The command line, made to preview an app's config when it names one.

    Without ``--config-name``/``-cn`` (or ``--config-path``/``-cp``), ``args`` as given.
    With it, the config is the app's, which may not have the viewer's options; so

    - ``--config-path`` relative to the current directory is made absolute (Hydra would read
      it relative to this module);
    - each viewer option (:data:`OPTIONS`) given as ``key=value`` is given as
      ``++key=value``: set, whether or not the app's config has that key;
    - the sweep comparison is enabled (:class:`.comparison.CompareSchedules`, with the run
      length from ``steps``, or the schedules' own ``decay_steps`` if the config has none).
    """
    names = ("--config-name", "-cn", "--config-path", "-cp")
    if not any(arg.split("=", 1)[0] in names for arg in args):
        return list(args)
    rewritten: list[str] = []
    pending_path = False
    for arg in args:
        if pending_path:
            arg, pending_path = _absolute(arg), False
        elif arg in ("--config-path", "-cp"):
            pending_path = True
        elif arg.startswith("--config-path="):
            arg = "--config-path=" + _absolute(arg.split("=", 1)[1])
        elif arg.split("=", 1)[0] in OPTIONS:
            arg = "++" + arg
        rewritten.append(arg)
    callback = f"++{COMPARE_CALLBACK}"
    given = {
        arg.split("=", 1)[0].lstrip("+"): arg.split("=", 1)[1] for arg in rewritten if "=" in arg
    }
    rewritten += [
        f"{callback}._target_=hydra_optax_schedules.viewer.comparison.CompareSchedules",
        f"{callback}.run_length_key={RUN_LENGTH_KEY}",
    ]
    rewritten += [  # a swept value (true,false) is not the callback's: it keeps its default
        f"{callback}.{flag}={given[flag]}"
        for flag in ("log_scale", "terminal_plot")
        if flag in given and "," not in given[flag]
    ]
    return rewritten


def _absolute(path: str) -> str:
    """A ``--config-path`` relative to the current directory, made absolute; a path with a
    scheme (``pkg://``, ``file://``) as given."""
    return path if "://" in path else str(Path(path).resolve())
