"""An independent, hand-written optax construction of what an optimizer config means.

Written from docs/optimizer.md, not from the package: its own path strings and first-match
groups, its own gradient clipping (by hand, over the trained parameters), optax's own
optimizers (``optax.adamw``, ``optax.lamb``, ``optax.sgd``, ...) per label in
``optax.multi_transform``, and the schedule as a table of ``reference_lr`` values. The
differential tests compare ``build_optimizer`` with it; nothing here imports the package.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import optax
import optax.contrib

DECOUPLED = {"adamw": optax.adamw, "nadamw": optax.nadamw, "adamaxw": optax.adamaxw}


def path_of(key_path):
    """Keys joined with ".", a last ``.value`` attribute left out (docs/optimizer.md)."""
    keys = []
    for key in key_path:
        for attribute in ("key", "idx", "name"):
            if hasattr(key, attribute):
                keys.append(str(getattr(key, attribute)))
                break
    if len(keys) > 1 and keys[-1] == "value" and hasattr(key_path[-1], "name"):
        keys.pop()
    return ".".join(keys)


def paths(tree):
    return [path_of(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def map_paths(fn, tree):
    return jax.tree_util.tree_map_with_path(lambda p, _: fn(path_of(p)), tree)


def first_group(groups, path):
    """The name of the first group with a pattern found in ``path``, else None."""
    for name, group in groups.items():
        if any(re.search(p, path) for p in group["match"]):
            return name
    return None


def table_schedule(values):
    """A schedule that looks the step's value up in ``values`` (float32, like optax's)."""
    table = jnp.asarray(values, dtype=jnp.float32)
    return lambda count: table[jnp.minimum(count, len(values) - 1)]


def one_optimizer(name, schedule, lr_mult, wd, mask, b1, b2, eps, nesterov):
    """optax's own optimizer ``name`` for one label: its step is ``lr_mult * schedule`` and
    its decay ``wd`` (decoupled: ``schedule * wd``, so ``weight_decay=wd / lr_mult``)."""
    lr = lambda count: lr_mult * schedule(count)  # noqa: E731
    if name in DECOUPLED:
        return DECOUPLED[name](lr, b1=b1, b2=b2, eps=eps, weight_decay=wd / lr_mult, mask=mask)
    if name == "lamb":
        return optax.lamb(lr, b1=b1, b2=b2, eps=eps, weight_decay=wd, mask=mask)
    if name == "sgd":
        base = optax.sgd(lr, momentum=b1 if b1 > 0 else None, nesterov=nesterov and b1 > 0)
    elif name == "radam":
        base = optax.radam(lr, b1=b1, b2=b2, eps=eps)
    else:
        base = getattr(optax, name)(lr, b1=b1, b2=b2, eps=eps)
    return optax.chain(optax.add_decayed_weights(wd, mask), base) if wd > 0 else base


def reference_optimizer(case, params, schedules):
    """``(tx, clip, labels, lr_mults)`` for ``case`` (a dict of OptimizerConfig's fields with
    plain ``param_groups``); ``schedules`` maps "base" and each group to a schedule."""
    groups = case.get("param_groups") or {}
    frozen = {name for name, g in groups.items() if g.get("freeze")}
    layer_of = {}  # a trained path's layer number, with layer-wise LR decay
    if case.get("layer_index"):
        for path in paths(params):
            found = re.search(case["layer_index"], path)
            if found and first_group(groups, path) not in frozen:
                layer_of[path] = int(found.group(1))
    layers = max(layer_of.values(), default=-1) + 1

    def label(path):
        group = first_group(groups, path) or "default"
        return f"{group}/layer{layer_of[path]}" if path in layer_of else group

    labels = map_paths(label, params)
    exclude, include = case.get("weight_decay_exclude"), case.get("weight_decay_include")

    def decays(path):
        if include is not None:
            return any(re.search(p, path) for p in include)
        return not any(re.search(p, path) for p in exclude or ())

    mask = lambda tree: map_paths(decays, tree)  # noqa: E731
    transforms, lr_mults = {}, {}
    for label in set(jax.tree.leaves(labels)):
        if label in frozen:
            transforms[label] = optax.set_to_zero()
            continue
        name, _, layer = label.partition("/layer")
        group = groups.get(name, {})
        lr_mults[label] = group.get("lr_mult", 1.0)
        if layer:
            lr_mults[label] *= case["layer_decay"] ** (layers - 1 - int(layer))
        transforms[label] = one_optimizer(
            case["name"],
            schedules[name if group.get("scheduler") else "base"],
            lr_mults[label],
            case.get("weight_decay", 0.0) * group.get("wd_mult", 1.0),
            mask,
            case.get("beta1", 0.9),
            case.get("beta2", 0.999),
            case.get("eps", 1e-8),
            case.get("nesterov", False),
        )
    parts = [optax.multi_transform(transforms, labels)]
    if case.get("plateau") is not None:
        parts.append(optax.contrib.reduce_on_plateau(**case["plateau"]))
    trained = map_paths(lambda p: first_group(groups, p) not in frozen, params)

    def clip(grads):
        """Gradient clipping by hand, over the trained parameters only."""
        norm_clip, value_clip = case.get("grad_clip_norm"), case.get("grad_clip_value")
        if norm_clip is not None:
            squares = [
                jnp.sum(g * g)
                for g, t in zip(jax.tree.leaves(grads), jax.tree.leaves(trained), strict=True)
                if t
            ]
            norm = jnp.sqrt(sum(squares))
            grads = jax.tree.map(
                lambda g, t: g * jnp.minimum(1.0, norm_clip / norm) if t else g, grads, trained
            )
        if value_clip is not None:
            grads = jax.tree.map(
                lambda g, t: jnp.clip(g, -value_clip, value_clip) if t else g, grads, trained
            )
        return grads

    return optax.chain(*parts), clip, labels, lr_mults
