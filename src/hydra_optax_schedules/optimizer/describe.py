"""See the groups before training: which parameters (path, count, size) fall in which group.

``describe_param_groups(config, params)`` assigns the parameters exactly as the optimizer's
``init`` does (:mod:`.groups`: the same errors for a pattern that matches nothing; the
builder's warnings are left to the builder) and returns
a table: one row per label, with its learning-rate multiplier, weight-decay multiplier, the
number of parameter arrays and of values, and their paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from hydra_optax_schedules.optimizer.check import checked
from hydra_optax_schedules.optimizer.groups import assign, decay_mask
from hydra_optax_schedules.optimizer.paths import leaf_paths

__all__ = ["GroupRow", "ParamGroupsTable", "describe_param_groups"]


@dataclass(frozen=True)
class GroupRow:
    """One label: ``lr_mult`` includes the layer factor; ``decayed`` counts the arrays that
    ``weight_decay`` applies to (0 without weight decay)."""

    label: str
    group: str
    lr_mult: float
    wd_mult: float
    frozen: bool
    count: int
    size: int
    decayed: int
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ParamGroupsTable:
    """The rows of ``describe_param_groups``; ``str(table)`` is the table as text."""

    rows: tuple[GroupRow, ...]

    def __str__(self) -> str:
        header = ("label", "lr_mult", "wd_mult", "arrays", "values", "decayed", "paths")
        lines = [header]
        for row in self.rows:
            shown = ", ".join(row.paths[:3]) + (", ..." if len(row.paths) > 3 else "")
            lines.append(
                (
                    row.label,
                    "frozen" if row.frozen else f"{row.lr_mult:g}",
                    "-" if row.frozen else f"{row.wd_mult:g}",
                    str(row.count),
                    f"{row.size:,}",
                    str(row.decayed),
                    shown,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True))
            + "  "
            + line[-1]
            for line in lines
        )


def describe_param_groups(config: Any, params: Any) -> ParamGroupsTable:
    """Which parameters of ``params`` fall in which group of ``config`` (an ``OptimizerConfig``,
    a mapping of its fields or the ``optimizer`` node of a Hydra config).

    Raises:
        ScheduleConfigError: As ``build_optimizer`` and ``tx.init(params)`` would.

    A field without effect is not warned about here: ``build_optimizer`` warns about it, once,
    at the line that builds the optimizer (describing it too would repeat each warning).
    """
    settings = checked(config, warn=False)
    labels, by_name = assign(settings, params)
    decays = jax.tree.leaves(decay_mask(settings, params))
    sizes = [int(np.size(leaf)) for leaf in jax.tree.leaves(params)]
    members: dict[str, list[int]] = {name: [] for name in by_name}
    for index, label in enumerate(jax.tree.leaves(labels)):
        members[label].append(index)
    paths = leaf_paths(params)
    rows = []
    for name, label in by_name.items():
        wd = settings.weight_decay * label.wd_mult
        rows.append(
            GroupRow(
                label=name,
                group=label.group,
                lr_mult=label.lr_factor,
                wd_mult=label.wd_mult,
                frozen=label.frozen,
                count=len(members[name]),
                size=sum(sizes[i] for i in members[name]),
                decayed=0 if label.frozen or wd == 0 else sum(decays[i] for i in members[name]),
                paths=tuple(paths[i] for i in members[name]),
            )
        )
    return ParamGroupsTable(tuple(rows))
