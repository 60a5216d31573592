"""build_optimizer against an independent optax construction (support/optimizer_reference.py).

For every optimizer name and generated parameter groups (lr_mult, wd_mult, freeze, a group's
own schedule), layer-wise LR decay, weight-decay masks, clipping and a plateau: the updates
over several steps equal those of optax's own optimizers in ``multi_transform`` (fed the same
parameters and gradients), and the values ``applied_hyperparams`` reads from the state equal
the scheduler's reference (``reference_lr``) times each label's multiplier and the plateau's
scale.
"""

from __future__ import annotations

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
from hypothesis import given, settings

from hydra_optax_schedules import applied_hyperparams, build_optimizer
from hydra_optax_schedules.optimizer.config import OPTIMIZER_NAMES

from support.generators import configs
from support.optimizer_reference import first_group, paths, reference_optimizer, table_schedule
from support.reference import reference_lr

STEPS = 4
#: A tenth of the profile's examples (each builds and runs two optimizers eagerly): 5 in the
#: default lane, 50 in the full lane.
EXAMPLES = max(5, settings.default.max_examples // 10)

PARAMS = {
    "embed": {"table": jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)},
    "layers": [
        {"kernel": jnp.linspace(-0.5, 0.7, 9).reshape(3, 3) * (i + 1), "bias": jnp.ones(3) * i}
        for i in range(3)
    ],
    "head": {"kernel": jnp.linspace(0.2, 1.0, 6).reshape(3, 2), "bias": jnp.array([0.5, -0.5])},
    "norm": {"scale": jnp.array([1.0, 2.0, 3.0])},
}
PATTERNS = {
    "head": [r"^head\."],
    "embed": ["embed"],
    "layers": [r"^layers\."],
    "biases": ["bias$"],
    "first": [r"^layers\.0\.", "norm"],
}


@st.composite
def optimizer_cases(draw):
    name = draw(st.sampled_from(OPTIMIZER_NAMES))
    case = {
        "name": name,
        "beta1": draw(st.sampled_from([0.0, 0.5, 0.9])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01, 0.3])),
    }
    if name != "sgd":
        case["beta2"] = draw(st.sampled_from([0.9, 0.999]))
        case["eps"] = draw(st.sampled_from([1e-8, 1e-3]))
    elif case["beta1"] > 0:
        case["nesterov"] = draw(st.booleans())
    if case["weight_decay"] > 0:
        which = draw(st.sampled_from(["", "weight_decay_exclude", "weight_decay_include"]))
        if which:
            case[which] = draw(st.sampled_from([["bias"], ["bias", "^norm"], ["kernel"]]))
    names = draw(st.lists(st.sampled_from(sorted(PATTERNS)), unique=True, max_size=3))
    groups = {}
    for group in names:
        groups[group] = {"match": PATTERNS[group]}
        if draw(st.booleans()):
            groups[group]["lr_mult"] = draw(st.sampled_from([0.1, 3.0, 10.0]))
        if draw(st.booleans()) and case["weight_decay"] > 0:
            groups[group]["wd_mult"] = draw(st.sampled_from([0.0, 2.0]))
        if draw(st.integers(0, 3)) == 0:
            groups[group] = {"match": PATTERNS[group], "freeze": True}
        elif draw(st.integers(0, 3)) == 0:
            groups[group]["scheduler"] = draw(configs())
    kept = {first_group(groups, path) for path in paths(PARAMS)}
    groups = {g: v for g, v in groups.items() if g in kept}  # each group keeps a parameter
    if groups:
        case["param_groups"] = groups
    trained_layers = [
        path
        for path in paths(PARAMS)
        if path.startswith("layers.")
        and not groups.get(first_group(groups, path), {}).get("freeze")
    ]
    if trained_layers and draw(st.booleans()):
        case["layer_decay"] = draw(st.sampled_from([0.5, 0.9, 2.0]))
        case["layer_index"] = r"^layers\.(\d+)\."
    if draw(st.booleans()):
        case["grad_clip_norm"] = draw(st.sampled_from([0.1, 1.0, 100.0]))
    if draw(st.booleans()):
        case["grad_clip_value"] = draw(st.sampled_from([0.05, 1.0]))
    if draw(st.booleans()):
        case["plateau"] = {"factor": 0.5, "patience": draw(st.integers(0, 2)), "atol": 0.1}
    return case


def _close(actual, expected, what):
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        scale = float(jnp.max(jnp.abs(e))) + 1e-30
        np.testing.assert_allclose(a, e, rtol=2e-4, atol=2e-5 * scale, err_msg=what)


@settings(max_examples=EXAMPLES)
@given(optimizer_cases(), configs(), st.integers(0, 2**31 - 1))
def test_updates_and_applied_values_equal_an_independent_optax_construction(case, base, seed):
    tx, _ = build_optimizer({**case, "scheduler": base})
    tables = {"base": [reference_lr(t, **base) for t in range(STEPS)]}
    for group, settings_ in (case.get("param_groups") or {}).items():
        if settings_.get("scheduler"):
            tables[group] = [reference_lr(t, **settings_["scheduler"]) for t in range(STEPS)]
    schedules = {key: table_schedule(values) for key, values in tables.items()}
    reference, clip, _, lr_mults = reference_optimizer(case, PARAMS, schedules)

    params, state, ref_state = PARAMS, tx.init(PARAMS), reference.init(PARAMS)
    key = jax.random.key(seed)
    losses = [1.0, 1.0, 0.5, 0.5]
    for step in range(STEPS):
        key, sub = jax.random.split(key)
        leaves, treedef = jax.tree.flatten(params)
        subs = jax.random.split(sub, len(leaves))
        grads = treedef.unflatten(
            [jax.random.normal(k, leaf.shape) for k, leaf in zip(subs, leaves, strict=True)]
        )
        extra = {"value": jnp.asarray(losses[step])} if case.get("plateau") else {}
        updates, state = tx.update(grads, state, params, **extra)
        expected, ref_state = reference.update(clip(grads), ref_state, params, **extra)
        _close(updates, expected, f"updates at step {step}")

        applied = applied_hyperparams(state)
        scale = float(ref_state[-1].scale) if case.get("plateau") else 1.0
        for label, mult in lr_mults.items():
            group = label.partition("/layer")[0]
            table = tables[group if group in tables else "base"]
            want = mult * table[step] * scale
            np.testing.assert_allclose(applied[label]["lr"], want, rtol=1e-5, atol=1e-30)
            np.testing.assert_allclose(applied[label]["plateau_scale"], scale, rtol=1e-6)
        params = optax.apply_updates(params, expected)


def test_the_reference_is_not_the_package():
    """The differential test would pass a package that ignored everything if the reference
    did too: the reference's updates change with lr_mult, freeze and the decay rule."""
    base = {"lr": 0.1, "name": "constant"}
    schedules = {"base": table_schedule([0.1] * STEPS)}
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    plain = {"name": "adamw", "weight_decay": 0.5}
    grouped = {**plain, "param_groups": {"head": {"match": ["head"], "lr_mult": 10.0}}}
    results = []
    for case in (plain, grouped):
        reference = reference_optimizer(case, PARAMS, schedules)[0]
        updates, _ = reference.update(grads, reference.init(PARAMS), PARAMS)
        mine, _ = build_optimizer({**case, "scheduler": base})[0].update(
            grads, build_optimizer({**case, "scheduler": base})[0].init(PARAMS), PARAMS
        )
        _close(mine, updates, case["name"])
        results.append(updates)
    assert not np.allclose(results[0]["head"]["kernel"], results[1]["head"]["kernel"])
    # lr_mult=10 multiplies the gradient step, not the decay: -(10 * 0.1 * u + 0.1 * 0.5 * p)
    u = 1.0 / (1.0 + 1e-8)  # Adam's first step on a gradient of ones
    p = PARAMS["head"]["kernel"]
    np.testing.assert_allclose(results[1]["head"]["kernel"], -(1.0 * u + 0.05 * p), rtol=1e-5)
