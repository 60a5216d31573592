"""Which parameter is in which group: the labels of a parameter tree, checked at ``init``.

Each parameter's path (:mod:`.paths`) is searched by the groups' patterns in order; the first
group that matches takes it, and a parameter that none matches is in ``"default"`` (the base
settings). With layer-wise LR decay, a trained parameter whose path ``layer_index`` finds is
in layer ``i`` of ``L`` (``L`` = 1 + the largest index found): its label is
``"<group>/layer<i>"`` and its learning rate ``lr_mult * layer_decay ** (L - 1 - i)`` times the
schedule.

A pattern that matches no parameter, a group that every parameter it matches has left for an
earlier group, and a layer index that is not a number are errors naming the group and
pattern, raised when the optimizer is initialized on the parameters (before the first step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.optimizer.check import DEFAULT_GROUP, Checked, Group
from hydra_optax_schedules.optimizer.paths import leaf_paths, map_with_paths

__all__ = ["Label", "assign", "decay_mask", "trained_mask"]

#: Paths a message lists at most (then: "... (N in all)").
_SHOWN_PATHS = 8


@dataclass(frozen=True)
class Label:
    """One label of the partition: a group, or one layer of a group.

    ``lr_factor`` multiplies the group's schedule for the gradient step (``lr_mult`` times the
    layer's factor); ``wd_mult`` scales ``weight_decay``.
    """

    name: str
    group: str
    layer: int | None
    lr_factor: float
    wd_mult: float
    frozen: bool
    scheduler: Any


def _group_of(config: Checked, path: str) -> Group | None:
    for group in config.groups:
        if any(re.search(pattern, path) for pattern in group.patterns):
            return group
    return None


def _listing(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:_SHOWN_PATHS])
    more = f", ... ({len(paths)} in all)" if len(paths) > _SHOWN_PATHS else ""
    return f"the parameters' paths are: {shown}{more}" if paths else "the tree has no parameter"


def _check_patterns(config: Checked, paths: list[str]) -> None:
    """Every group's every pattern matches a parameter, and every group keeps one."""
    for index, group in enumerate(config.groups):
        for i, pattern in enumerate(group.patterns):
            if not any(re.search(pattern, path) for path in paths):
                raise ScheduleConfigError(
                    f"{group.where}match[{i}]={pattern!r} matches no parameter; {_listing(paths)}",
                    field=f"param_groups.{group.name}.match",
                )
        if not any(_group_of(config, path) is group for path in paths):
            earlier = [g.name for g in config.groups[:index]]
            raise ScheduleConfigError(
                f"{group.where}match={list(group.patterns)!r} matches only parameters that an "
                f"earlier group takes (the first match wins; earlier: {', '.join(earlier)}): "
                "reorder the groups or narrow their patterns",
                field=f"param_groups.{group.name}.match",
            )
    if config.decay_patterns is not None:
        field = "weight_decay_include" if config.decay_include else "weight_decay_exclude"
        for i, pattern in enumerate(config.decay_patterns):
            if not any(re.search(pattern, path) for path in paths):
                raise ScheduleConfigError(
                    f"{config.prefix}{field}[{i}]={pattern!r} matches no parameter; "
                    f"{_listing(paths)}",
                    field=field,
                )


def _layers(config: Checked, paths: list[str]) -> tuple[dict[str, int], int]:
    """The layer index of each trained path that ``layer_index`` finds, and ``L``."""
    if config.layer_index is None:
        return {}, 0
    found: dict[str, int] = {}
    for path in paths:
        group = _group_of(config, path)
        if group is not None and group.freeze:
            continue
        match = re.search(config.layer_index, path)
        if match is None:
            continue
        text = match.group(1)
        if text is None or not text.isdigit():
            raise ScheduleConfigError(
                f"{config.prefix}layer_index={config.layer_index!r} finds {text!r} in "
                f"{path!r}: expected a layer number (its first group must capture digits)",
                field="layer_index",
            )
        found[path] = int(text)
    if not found:
        raise ScheduleConfigError(
            f"{config.prefix}layer_index={config.layer_index!r} matches no trained parameter; "
            f"{_listing(paths)}",
            field="layer_index",
        )
    return found, max(found.values()) + 1


def assign(config: Checked, tree: Any) -> tuple[Any, dict[str, Label]]:
    """``(labels, by_name)``: ``tree`` with each leaf replaced by its label's name, and every
    label that some leaf has.

    Raises:
        ScheduleConfigError: A pattern matches no parameter, a group keeps none, or a layer
            index is not a number (the message names the group and the pattern).
    """
    paths = leaf_paths(tree)
    _check_patterns(config, paths)
    layers, count = _layers(config, paths)
    labels: dict[str, Label] = {}

    def label_of(path: str) -> str:
        group = _group_of(config, path)
        name = DEFAULT_GROUP if group is None else group.name
        frozen = group is not None and group.freeze
        lr_factor = 1.0 if group is None else group.lr_mult
        layer = None if frozen else layers.get(path)
        label = name
        if layer is not None:
            assert config.layer_decay is not None
            label = f"{name}/layer{layer}"
            lr_factor *= config.layer_decay ** (count - 1 - layer)
        if label not in labels:
            labels[label] = Label(
                name=label,
                group=name,
                layer=layer,
                lr_factor=lr_factor,
                wd_mult=1.0 if group is None else group.wd_mult,
                frozen=frozen,
                scheduler=None if group is None else group.scheduler,
            )
        return label

    return map_with_paths(label_of, tree), labels


def trained_mask(config: Checked, tree: Any) -> Any:
    """``tree`` with ``True`` at each parameter that is trained (in no frozen group)."""

    def trained(path: str) -> bool:
        group = _group_of(config, path)
        return group is None or not group.freeze

    return map_with_paths(trained, tree)


def decay_mask(config: Checked, tree: Any) -> Any:
    """``tree`` with ``True`` at each parameter that ``weight_decay`` applies to."""
    patterns = config.decay_patterns

    def decays(path: str) -> bool:
        if patterns is None:
            return True
        found = any(re.search(pattern, path) for pattern in patterns)
        return found if config.decay_include else not found

    return map_with_paths(decays, tree)
