"""Each parameter group's learning rate and weight decay over the run, as the optimizer applies.

Nothing here computes a group's value. For each previewed step ``t``, the transformation that
``build_optimizer`` returns makes one update (zero gradients) from its initial state with its
schedules' step counts set to ``t``, and ``applied_hyperparams`` reads what that update applied
from the new state. So a group's learning rate is its schedule (its own or the optimizer's)
times its ``lr_mult`` and its layer's factor, and its weight decay is what the optimizer's name
applies, by the optimizer package's rules and nothing else. The plateau's scale follows the loss
during training; the curves are drawn at its starting scale, 1.

Which parameters: given their paths (``params=[backbone.layers.0.kernel,head.kernel]``), the
groups are assigned as ``init`` assigns them (a pattern that matches none is the optimizer's
error), one curve per label (``"<group>/layer<i>"`` with layer-wise LR decay). Without them,
each group stands for one parameter that only it matches, and ``"default"`` for the parameters
no group matches: a group's values do not depend on which parameters it holds, except with
layer-wise LR decay, which then needs ``params``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.optimizer.build import build_optimizer
from hydra_optax_schedules.optimizer.check import DEFAULT_GROUP
from hydra_optax_schedules.optimizer.hyperparams import applied_hyperparams
from hydra_optax_schedules.viewer.sampling import Mean, mean_over_steps
from hydra_optax_schedules.viewer.table import Table

__all__ = [
    "CHUNK",
    "QUANTITIES",
    "AppliedCurves",
    "GroupCurve",
    "format_groups",
    "parameter_tree",
    "preview_groups",
]

#: The hyperparameters drawn per label, as ``applied_hyperparams`` names them.
QUANTITIES = ("lr", "weight_decay")
#: Steps evaluated by one jitted call (the last block is padded, so one compilation serves all).
CHUNK = 4096


def parameter_tree(paths: Sequence[str]) -> dict[str, Any]:
    """A tree of scalar parameters whose paths (keys joined with ``"."``) are ``paths``.

    Raises:
        ScheduleConfigError: ``paths`` is empty, a path has an empty key, or a path is also a
            prefix of another (a parameter cannot also hold parameters).
    """
    if isinstance(paths, str) or not paths:
        raise ScheduleConfigError(
            f"params={paths!r} is invalid: expected a non-empty list of parameter paths "
            "(keys joined with '.', e.g. [backbone.layers.0.kernel,head.kernel])",
            field="params",
        )
    tree: dict[str, Any] = {}
    for path in paths:
        keys = str(path).split(".")
        if "" in keys:
            raise ScheduleConfigError(
                f"params: {path!r} is invalid: a path is keys joined with '.', none empty",
                field="params",
            )
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ScheduleConfigError(
                    f"params: {path!r} continues the path of a parameter", field="params"
                )
        if keys[-1] in node:
            raise ScheduleConfigError(
                f"params: {path!r} is given twice or also holds parameters", field="params"
            )
        node[keys[-1]] = jnp.zeros((), jnp.float32)
    return tree


def _representative(cfg: DictConfig, key: str) -> tuple[DictConfig, dict[str, Any]]:
    """A copy of the optimizer at ``key`` in which each group matches only a parameter of its
    own name, and that tree (with ``"default"``, the parameters no group matches)."""
    whole = copy.deepcopy(cfg)
    node = OmegaConf.select(whole, key)
    if node.get("layer_decay") is not None:
        raise ScheduleConfigError(
            f"{key}.layer_decay={node.layer_decay!r} needs the parameters' paths to find the "
            "layers: add params=[...] (e.g. params=[layers.0.kernel,layers.1.kernel])",
            field="params",
        )
    names = [str(name) for name in (node.get("param_groups") or {})]
    with open_dict(node):
        for name in names:
            node.param_groups[name].match = [f"^{re.escape(name)}$"]
        # Which parameters decay does not change a group's value: no pattern to match here.
        node.weight_decay_exclude = None
        node.weight_decay_include = None
    tree = {name: jnp.zeros((), jnp.float32) for name in [*names, DEFAULT_GROUP]}
    return node, tree


class AppliedCurves:
    """The hyperparameters an optimizer applies at any steps, read from its own state.

    ``curves(steps)`` is ``{label: {"lr": values, "weight_decay": values}}`` at ``steps``.
    """

    def __init__(self, tx: optax.GradientTransformationExtraArgs, params: Any) -> None:
        self._state = tx.init(params)
        self.labels = tuple(applied_hyperparams(self._state))
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        start = self._state

        def at(step: jax.Array) -> dict[str, dict[str, jax.Array]]:
            state = jax.tree_util.tree_map(
                lambda node: _at_step(node, step), start, is_leaf=_is_injected
            )
            _, new = tx.update(zeros, state, params, value=jnp.zeros((), jnp.float32))
            # The plateau's scale stays where it starts: it follows the loss, not the step.
            new = jax.tree_util.tree_map(
                lambda old, now: old if _is_plateau(old) else now, start, new, is_leaf=_is_plateau
            )
            applied = applied_hyperparams(new)
            return {label: {q: applied[label][q] for q in QUANTITIES} for label in applied}

        self._at = jax.jit(jax.vmap(at))
        self._count_max = int(np.iinfo(np.int32).max)
        self._memo: tuple[np.ndarray, dict[str, dict[str, np.ndarray]]] | None = None

    def __call__(self, steps: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        steps = np.asarray(steps, dtype=np.int64)
        if self._memo is not None and np.array_equal(self._memo[0], steps):
            return self._memo[1]
        if len(steps) and int(steps.max()) > self._count_max:
            raise ScheduleConfigError(
                f"steps={int(steps.max())} is invalid with an optimizer: it counts its steps "
                f"in int32, so expected at most {self._count_max}",
                field="steps",
            )
        blocks: list[dict[str, dict[str, jax.Array]]] = []
        for first in range(0, len(steps), CHUNK):
            block = steps[first : first + CHUNK]
            padded = np.pad(block, (0, CHUNK - len(block)), mode="edge")
            values = self._at(jnp.asarray(padded, jnp.int32))
            kept = len(block)
            blocks.append(jax.tree_util.tree_map(lambda v, n=kept: v[:n], values))
        joined = {
            label: {
                q: np.concatenate([np.asarray(b[label][q], np.float64) for b in blocks])
                for q in QUANTITIES
            }
            for label in self.labels
        }
        self._memo = (steps, joined)
        return joined

    def column(self, label: str, quantity: str) -> Callable[[np.ndarray], np.ndarray]:
        """One label's one quantity as a function of the steps (for :func:`mean_over_steps`)."""
        return lambda steps: self(steps)[label][quantity]


def _is_injected(node: Any) -> bool:
    return isinstance(node, optax.InjectStatefulHyperparamsState)


def _is_plateau(node: Any) -> bool:
    return isinstance(node, optax.contrib.ReduceLROnPlateauState)


def _at_step(node: Any, step: jax.Array) -> Any:
    """An ``inject_hyperparams`` state whose step counts (its own and each scheduled value's)
    are ``step``: its next update applies the values of ``step``."""
    if not _is_injected(node):
        return node
    count = jnp.asarray(step, node.count.dtype)
    schedules = {
        name: inner._replace(count=jnp.asarray(step, inner.count.dtype))
        if hasattr(inner, "_replace") and "count" in getattr(inner, "_fields", ())
        else inner
        for name, inner in node.hyperparams_states.items()
    }
    return node._replace(count=count, hyperparams_states=schedules)


@dataclass(frozen=True)
class GroupCurve:
    """One label's curves over the run: the learning rate and the weight decay applied."""

    label: str
    lr: Table
    weight_decay: Table
    lr_mean: Mean
    weight_decay_mean: Mean
    frozen: bool


def preview_groups(
    cfg: DictConfig,
    key: str,
    params: Sequence[str] | None,
    grid: np.ndarray,
    steps: int,
    ends: Sequence[int],
    resume_step: int | None = None,
) -> tuple[AppliedCurves, list[GroupCurve]]:
    """The values of the optimizer at ``key`` in ``cfg`` at any steps, and the curves of each
    of its labels at the steps ``grid`` (each of its schedules given the run length
    ``steps`` as ``run_steps``, as a trainer gives it), in the order of its groups,
    ``"default"`` last.

    Args:
        cfg: The whole config (the optimizer's ``scheduler`` may refer to another node).
        key: Where the optimizer is.
        params: The parameters' paths, or ``None`` for one parameter per group.
        grid: The previewed steps, increasing from 0 to ``steps``.
        steps: The run's length.
        ends: The phase boundaries (:func:`.sampling.segment_ends`), for the means.
        resume_step: The step a resumed run continues from (``cooldown_start: resume``).
    """
    if params is None:
        node, tree = _representative(cfg, key)
    else:
        node, tree = OmegaConf.select(cfg, key), parameter_tree(params)
    tx, _ = build_optimizer(node, run_steps=steps, resume_step=resume_step)
    applied = AppliedCurves(tx, tree)
    values = applied(grid)
    order = [str(name) for name in (node.get("param_groups") or {})] + [DEFAULT_GROUP]
    frozen = {
        str(name) for name, group in (node.get("param_groups") or {}).items() if group.get("freeze")
    }
    labels = sorted(applied.labels, key=lambda label: _label_order(label, order))
    curves = []
    for label in labels:
        tables = {q: Table(grid, values[label][q]) for q in QUANTITIES}
        means = {
            q: mean_over_steps(applied.column(label, q), steps, (grid, values[label][q]), ends)
            for q in QUANTITIES
        }
        curves.append(
            GroupCurve(
                label=label,
                lr=tables["lr"],
                weight_decay=tables["weight_decay"],
                lr_mean=means["lr"],
                weight_decay_mean=means["weight_decay"],
                frozen=label in frozen,
            )
        )
    return applied, curves


def _label_order(label: str, groups: list[str]) -> tuple[int, int, str]:
    """Groups in config order, ``"default"`` last; a group's layers by number."""
    group, _, layer = label.partition("/")
    number = re.search(r"\d+", layer)
    return (
        groups.index(group) if group in groups else len(groups),
        int(number[0]) if number else -1,
        label,
    )


def format_groups(key: str, name: str, curves: Sequence[GroupCurve], steps: int) -> str:
    """A table of each label's peak, final and mean learning rate and weight decay."""
    header = ["group", "lr peak", "lr final", "lr mean", "wd peak", "wd final", "wd mean"]
    rows = []
    for curve in curves:
        row = [f"{curve.label} (frozen)" if curve.frozen else curve.label]
        for table, mean in (
            (curve.lr, curve.lr_mean),
            (curve.weight_decay, curve.weight_decay_mean),
        ):
            row += [f"{table.values.max():.3e}", f"{table.at(steps):.3e}", f"{mean.value:.3e}"]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    estimated = [c for c in curves if not c.lr_mean.exact]
    note = (
        f"means over steps [0, {steps}) estimated from sampled steps"
        if estimated
        else f"means over steps [0, {steps})"
    )
    return "\n".join(
        [
            f"{key}: {name}, learning rate and weight decay per parameter group as applied "
            f"(plateau scale 1); {note}",
            "",
            *lines,
        ]
    )
