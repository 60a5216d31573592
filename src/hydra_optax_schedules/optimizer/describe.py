"""Which parameters fall in which group, as a table to print before training.

``describe_groups(config, params)`` assigns a parameter tree to the optimizer's labels exactly
as ``tx.init(params)`` does (:func:`.groups.assign`: the same errors for a pattern that matches
nothing), and returns one row per label: its parameters' paths, how many there are and how many
numbers they hold, and the label's learning-rate factor (``lr_mult`` times the layer's factor)
and ``wd_mult``. ``format_groups_table(rows)`` is that as aligned text::

    group     params      size  lr x  wd x  paths
    head           2       130  10    1     head.bias, head.kernel
    backbone       4     4,672  0     0     layers.0.bias, layers.0.kernel, ... (frozen)
    default        0         0  1     1
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax

from hydra_optax_schedules.errors import IgnoredFieldWarning
from hydra_optax_schedules.optimizer.check import checked
from hydra_optax_schedules.optimizer.groups import assign
from hydra_optax_schedules.optimizer.paths import leaf_paths

__all__ = ["GroupRow", "describe_groups", "format_groups_table"]

#: Paths a row of the table lists at most.
SHOWN_PATHS = 4


@dataclass(frozen=True)
class GroupRow:
    """One label of the optimizer and the parameters it holds.

    Attributes:
        label: ``"default"``, a group's name, or ``"<group>/layer<i>"``.
        paths: Its parameters' paths, in the tree's order.
        size: How many numbers they hold (the sum of their sizes).
        lr_factor: Its learning rate over the schedule's (``lr_mult`` times the layer's
            factor; 0 when frozen).
        wd_mult: Its weight decay over ``weight_decay``.
        frozen: Its parameters are not trained.
    """

    label: str
    paths: tuple[str, ...]
    size: int
    lr_factor: float
    wd_mult: float
    frozen: bool


def describe_groups(config: Any, params: Any) -> list[GroupRow]:
    """The labels ``build_optimizer(config)`` gives the leaves of ``params``, with their
    parameters: one row per label that holds one, in the tree's order.

    Raises:
        ScheduleConfigError: As ``tx.init(params)``: a field is invalid, a pattern matches no
            parameter, a group keeps none, a layer index is not a number.
    """
    with warnings.catch_warnings():  # building the optimizer warns about them, once
        warnings.simplefilter("ignore", IgnoredFieldWarning)
        settings = checked(config, what="describe_groups")
    labels, by_name = assign(settings, params)
    names = jax.tree_util.tree_leaves(labels)
    sizes = [math.prod(getattr(leaf, "shape", ())) for leaf in jax.tree_util.tree_leaves(params)]
    paths: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    for name, path, count in zip(names, leaf_paths(params), sizes, strict=True):
        paths.setdefault(name, []).append(path)
        size[name] = size.get(name, 0) + count
    return [
        GroupRow(
            label=name,
            paths=tuple(paths[name]),
            size=size[name],
            lr_factor=0.0 if by_name[name].frozen else by_name[name].lr_factor,
            wd_mult=0.0 if by_name[name].frozen else by_name[name].wd_mult,
            frozen=by_name[name].frozen,
        )
        for name in paths
    ]


def format_groups_table(rows: Sequence[GroupRow]) -> str:
    """The rows as aligned text: label, parameters, size, factors and the first paths."""
    header = ("group", "params", "size", "lr x", "wd x", "paths")
    cells = []
    for row in rows:
        shown = ", ".join(row.paths[:SHOWN_PATHS])
        if len(row.paths) > SHOWN_PATHS:
            shown += ", ..."
        if row.frozen:
            shown += " (frozen)"
        cells.append(
            (
                row.label,
                str(len(row.paths)),
                f"{row.size:,}",
                f"{row.lr_factor:.4g}",
                f"{row.wd_mult:.4g}",
                shown,
            )
        )
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header) - 1)]
    right = {1, 2}
    lines = []
    for line in [header, *cells]:
        fixed = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*fixed, line[-1]]).rstrip())
    return "\n".join(lines)
