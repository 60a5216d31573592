"""What to log: the hyperparameters each label applied at the last update, from the state.

``applied_hyperparams(state)`` is jittable: it reads the values the optimizer stored when it
used them (``optax.inject_hyperparams``'s state) and the plateau's scale, so a training loop
logs what was applied rather than what it recomputes.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax
import optax.contrib

from hydra_optax_schedules.optimizer.build import DECOUPLED_DECAY

__all__ = ["applied_hyperparams"]


def applied_hyperparams(state: Any) -> dict[str, dict[str, Any]]:
    """Per label (``"default"``, each group, ``"<group>/layer<i>"``), the values applied at
    the last update (at ``init``: those of step 0):

    - ``lr``: the learning rate of the gradient step, ``schedule(t) * lr_mult * layer factor
      * plateau_scale`` (0 for a frozen group);
    - ``weight_decay``: for ``adamw``, ``nadamw``, ``adamaxw``, the fraction by which the
      weights shrank, ``schedule(t) * weight_decay * wd_mult * plateau_scale``; for the others
      the coefficient ``weight_decay * wd_mult`` (added to the gradient, or to ``lamb``'s
      update);
    - ``plateau_scale``: the plateau's scale (1 without a plateau).

    Args:
        state: The state of a transformation from ``build_optimizer`` (also inside wrappers
            such as ``optax.MultiSteps``: it is searched for).

    Raises:
        ValueError: ``state`` holds no state of ``build_optimizer``'s.
    """
    partitions = _find(state, optax.PartitionState)
    if not partitions:
        raise ValueError("the state holds no state of a build_optimizer transformation")
    plateaus = _find(state, optax.contrib.ReduceLROnPlateauState)
    scale = jnp.asarray(plateaus[0].scale) if plateaus else jnp.asarray(1.0)
    applied: dict[str, dict[str, Any]] = {}
    for label, inner in partitions[0].inner_states.items():
        injected = _find(inner, optax.InjectStatefulHyperparamsState)
        if not injected:  # a frozen group
            zero = jnp.zeros_like(scale)
            applied[str(label)] = {"lr": zero, "weight_decay": zero, "plateau_scale": scale}
            continue
        values = injected[0].hyperparams
        if DECOUPLED_DECAY in values:
            decay = values[DECOUPLED_DECAY] * scale
        else:
            decay = values["weight_decay"]
        applied[str(label)] = {
            "lr": values["learning_rate"] * scale,
            "weight_decay": decay,
            "plateau_scale": scale,
        }
    return applied


def _find(tree: Any, kind: type) -> list[Any]:
    """Every node of type ``kind`` in a state (tuples, named tuples, dicts, lists), in order."""
    if isinstance(tree, kind):
        return [tree]
    if isinstance(tree, dict):
        children: Any = tree.values()
    elif isinstance(tree, (tuple, list)):
        children = tree
    else:
        return []
    return [node for child in children for node in _find(child, kind)]
