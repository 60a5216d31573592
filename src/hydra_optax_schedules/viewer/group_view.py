"""What ``lrview`` adds for each optimizer in its config: a table, CSV columns and a picture.

``lrview optimizer=adamw '+optimizer.param_groups={head:{match:[head]}}'``, or any optimizer
node (``_target_`` the ``optimizer`` group's builder) gets, besides its
schedule's own summary: a row per parameter group (peak, final and mean learning rate and
weight decay, :func:`.groups.format_groups`), the columns ``lr[<group>]`` and
``weight_decay[<group>]`` in ``schedule.csv``, and ``groups.png``: one panel of every group's
learning rate and one of its weight decay. The values are the optimizer's own (:mod:`.groups`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

import hydra_optax_schedules.viewer.sampling as sampling
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.optimizer.options import OPTIMIZER_TARGET
from hydra_optax_schedules.schedule import Schedule

if TYPE_CHECKING:  # JAX and optax: imported only when the config has an optimizer
    import hydra_optax_schedules.viewer.groups as groups

__all__ = [
    "GROUPS_PNG",
    "OptimizerPreview",
    "groups_figure",
    "optimizer_nodes",
    "preview_optimizers",
    "save_groups_png",
    "with_groups",
]

#: The picture of every optimizer's groups, next to ``schedule.png``.
GROUPS_PNG = "groups.png"


@dataclass(frozen=True)
class OptimizerPreview:
    """An optimizer of the config: where it is, its name, and each label's curves."""

    key: str
    name: str
    curves: tuple[groups.GroupCurve, ...]
    applied: groups.AppliedCurves

    def columns(self) -> list[str]:
        """Its ``schedule.csv`` columns, two per label: ``lr[<label>]``, ``weight_decay[...]``."""
        from hydra_optax_schedules.viewer.groups import QUANTITIES

        return [f"{name}[{curve.label}]" for curve in self.curves for name in QUANTITIES]

    def report(self, steps: int) -> str:
        """Its table of groups."""
        import hydra_optax_schedules.viewer.groups as groups

        return groups.format_groups(self.key, self.name, self.curves, steps)


def optimizer_nodes(cfg: DictConfig) -> Iterator[tuple[str, DictConfig]]:
    """Every optimizer in ``cfg``, in config order: ``(dotted key, node)``; an optimizer is a
    mapping whose ``_target_`` is the ``optimizer`` group's builder, wherever it is mounted."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict)

    def walk(mapping: dict[Any, Any], prefix: str) -> Iterator[str]:
        for key, value in mapping.items():
            if isinstance(value, dict):
                path = f"{prefix}{key}"
                if value.get("_target_") == OPTIMIZER_TARGET:
                    yield path
                else:
                    yield from walk(value, f"{path}.")

    for path in walk(plain, ""):
        yield path, OmegaConf.select(cfg, path)


def check_params(value: Any) -> list[str] | None:
    """The viewer's ``params`` option: ``null`` or a list of parameter paths."""
    if value is None:
        return None
    if isinstance(value, ListConfig):
        value = OmegaConf.to_container(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScheduleConfigError(
            f"params={value!r} is invalid: expected null (one parameter per group) or a list "
            "of parameter paths, e.g. params=[backbone.layers.0.kernel,head.kernel]",
            field="params",
        )
    return value


def preview_optimizers(
    cfg: DictConfig,
    schedules: dict[str, Schedule],
    grid: np.ndarray,
    steps: int,
    params: Any,
    resume_step: int | None = None,
) -> list[OptimizerPreview]:
    """Every optimizer in ``cfg`` previewed at the steps ``grid`` (``schedules``: every
    schedule of the config, built with the run's length and ``resume_step``, whose
    boundaries ``grid`` holds)."""
    nodes = list(optimizer_nodes(cfg))
    if not nodes:
        if params is not None:
            raise ScheduleConfigError(
                "params is set but the config has no optimizer: add one, e.g. optimizer=adamw",
                field="params",
            )
        return []
    paths = check_params(params)
    # JAX logs at INFO that it found no TPU, on every machine without one: noise in lrview's output.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    import hydra_optax_schedules.viewer.groups as groups  # JAX and optax, for an optimizer

    spans = [(phase.start, phase.end) for s in schedules.values() for phase in s.phases]
    ends = sampling.segment_ends(spans, steps)
    previews = []
    for key, node in nodes:
        applied, curves = groups.preview_groups(cfg, key, paths, grid, steps, ends, resume_step)
        previews.append(OptimizerPreview(key, str(node.get("name")), tuple(curves), applied))
    return previews


def with_groups(
    rows: Iterator[tuple[np.ndarray, list[np.ndarray]]], previews: Sequence[OptimizerPreview]
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """``schedule.csv``'s blocks of rows with every optimizer's columns after the schedules'."""
    if not previews:
        yield from rows
        return
    from hydra_optax_schedules.viewer.groups import QUANTITIES

    for block, values in rows:
        extra = []
        for preview in previews:
            applied = preview.applied(block)
            for curve in preview.curves:
                extra += [applied[curve.label][quantity] for quantity in QUANTITIES]
        yield block, [*values, *extra]


def save_groups_png(
    previews: Sequence[OptimizerPreview], title: str, path: Path, *, log_scale: bool = False
) -> None:
    """Draw :func:`groups_figure` into the PNG file ``path``."""
    import hydra_optax_schedules.viewer.plots as plots

    groups_figure(previews, title, log_scale=log_scale).savefig(path, dpi=plots._DPI)


def groups_figure(
    previews: Sequence[OptimizerPreview], title: str, *, log_scale: bool = False
) -> Any:
    """Each optimizer's learning rate and weight decay per group: two panels per optimizer,
    a line per group, each in its own dash pattern (:func:`.plots.curve_style`), so that a
    group whose curve is another's (a weight decay of 0, an ``lr_mult`` of 1) stays seen."""
    import hydra_optax_schedules.viewer.plots as plots
    from hydra_optax_schedules.viewer.groups import QUANTITIES

    figure = plots._figure(2 * len(previews))
    position = 0
    for preview in previews:
        for quantity, ylabel in zip(QUANTITIES, ("learning rate", "weight decay"), strict=True):
            position += 1
            tables = [
                (
                    f"{curve.label} (frozen)" if curve.frozen else curve.label,
                    getattr(curve, quantity),
                )
                for curve in preview.curves
            ]
            peak = max(float(np.max(table.values)) for _, table in tables)
            scale = plots._scale(peak) if peak > 0 else 1.0
            axes = plots._new_axes(
                figure,
                f"{preview.key}: {preview.name}, {ylabel} per group",
                position,
                2 * len(previews),
                ylabel=ylabel,
                scale=scale,
                log_scale=log_scale,
            )
            for index, (label, table) in enumerate(tables):
                style = plots.curve_style(index)
                axes.plot(table.steps, table.values / scale, label=label, **style)
            axes.set_xlim(0, int(tables[0][1].steps[-1]))
            axes.set_ylim(bottom=0, top=max(peak / scale * 1.05, 1e-12))
            axes.legend(fontsize="small", title="group", title_fontsize="small")
            axes.set_xlabel("step")
    figure.suptitle(title, fontsize="medium", wrap=True)
    return figure
