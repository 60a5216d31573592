"""The schedule viewer: see a learning-rate schedule before training with it.

``python -m hydra_optax_schedules`` (or ``lrview``) is a Hydra app over the same ``scheduler``
group that a training app gets, so the same overrides apply::

    python -m hydra_optax_schedules scheduler=cosine scheduler.lr=3e-4 steps=10000 \\
        scheduler.warmup_steps=500

A run prints a summary (phases, peak, final and mean learning rate), draws the curve in the
terminal, and writes ``schedule.csv`` and ``schedule.png`` into Hydra's output directory. With
``-m`` every job writes its own files, and when the sweep ends
:class:`~hydra_optax_schedules.comparison.SweepComparison` draws all of them in one picture.
Without the ``viz`` extra, the pictures are skipped and one line says how to get them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from hydra_optax_schedules import curve as curves
from hydra_optax_schedules import plots
from hydra_optax_schedules.schedule import build_lr_scheduler
from hydra_optax_schedules.summary import format_summary, summarize

__all__ = ["CONFIG_PATH", "main", "view"]

#: Where the viewer's ``viewer.yaml`` lives: inside the package, so it works from any directory.
CONFIG_PATH = "pkg://hydra_optax_schedules.viewer_conf"


def view(cfg: DictConfig) -> None:
    """Hydra task: summarize, draw and save the schedule that ``cfg.scheduler`` describes.

    Raises:
        ScheduleConfigError: ``cfg.scheduler`` is not a valid schedule (the message names
            the field, e.g. ``scheduler.warmup_steps``).
        ValueError: ``cfg.steps`` is not a whole number >= 1.
    """
    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    overrides = list(hydra_config.overrides.task)
    # A sweep draws its jobs together in the terminal and gives the install hint once, at
    # its end (comparison.py); each job still writes its own files.
    single_run = hydra_config.mode == RunMode.RUN

    schedule = build_lr_scheduler(cfg.scheduler)
    curve = curves.evaluate(schedule, cfg.steps)
    summary = summarize(schedule, curve)
    curves.write_csv(curve, out_dir / "schedule.csv")
    written = ["schedule.csv"]

    title = f"{summary.name}: {' '.join(overrides) or 'defaults'}"
    report = [format_summary(summary, overrides)]
    missing: list[ImportError] = []
    if cfg.terminal_plot and single_run:
        try:
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
        plots.save_schedule_png(curve, summary, title, out_dir / "schedule.png")
        written.append("schedule.png")
    except ImportError as error:
        missing.append(error)
    if missing and single_run:
        report.append(plots.missing_hint(missing))
    report.append(f"wrote {', '.join(written)} in {out_dir}")
    # One write, so that jobs running side by side (joblib) do not interleave their lines.
    print("\n\n".join(report), flush=True)


# The console script and ``__main__``: ``main()`` reads the overrides from ``sys.argv``. ``view``
# itself stays a plain module-level function, so a launcher that runs jobs in other processes
# (joblib) sends it by reference.
main = hydra.main(config_path=CONFIG_PATH, config_name="viewer", version_base="1.3")(view)
