"""What build_optimizer does, measured on the parameters: weight decay per name (the weights
shrink, by the documented factor), frozen groups, clipping, the lr_mult rule, the plateau on
top of the schedule, and the errors raised at init. Expected values are written out here."""

from __future__ import annotations

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    applied_hyperparams,
    build_optimizer,
)
from hydra_optax_schedules.optimizer.config import DECOUPLED, L2, OPTIMIZER_NAMES

from support.reference import reference_lr

WARMUP = {"lr": 0.1, "name": "cosine", "decay_steps": 20, "warmup_steps": 5}
PARAMS = {
    "backbone": {"kernel": jnp.full((7, 5), 2.0), "bias": jnp.full((5,), -1.0)},
    "head": {"kernel": jnp.array([[1.0, -2.0], [3.0, 0.5]]), "bias": jnp.array([0.25, -4.0])},
}


def zeros(tree):
    return jax.tree.map(jnp.zeros_like, tree)


def run(tx, grads_fn, steps, params=PARAMS, **extra):
    state = tx.init(params)
    history = []
    for step in range(steps):
        updates, state = tx.update(grads_fn(params, step), state, params, **extra)
        params = optax.apply_updates(params, updates)
        history.append((params, state, updates))
    return history


@pytest.mark.parametrize("name", DECOUPLED)
def test_decoupled_decay_shrinks_the_weights_by_the_scheduled_factor(name):
    """Zero gradients: p(t+1) = (1 - s(t) * wd) * p(t), s the schedule (warmup included):
    decay is not chained after the -lr scaling (which would grow |p|) nor applied twice."""
    tx, _ = build_optimizer({"name": name, "scheduler": WARMUP, "weight_decay": 0.5})
    params = PARAMS
    for step, (after, _, _) in enumerate(run(tx, lambda p, t: zeros(p), 8)):
        factor = 1 - reference_lr(step, **WARMUP) * 0.5
        for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(params), strict=True):
            np.testing.assert_allclose(a, factor * b, rtol=1e-6)
        params = after


def test_lamb_decay_is_inside_the_trust_ratio():
    """Zero gradients: lamb's update is trust_ratio(wd * p) = p, so p(t+1) = (1 - s(t)) p(t)."""
    tx, _ = build_optimizer({"name": "lamb", "scheduler": WARMUP, "weight_decay": 0.5})
    params = PARAMS
    for step, (after, _, _) in enumerate(run(tx, lambda p, t: zeros(p), 8)):
        factor = 1 - reference_lr(step, **WARMUP)
        for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(params), strict=True):
            np.testing.assert_allclose(a, factor * b, rtol=1e-5)
        params = after


def test_sgd_l2_shrinks_by_lr_times_wd():
    """sgd without momentum, zero gradients: g + wd * p scaled by -s(t): (1 - s(t) wd)."""
    config = {"name": "sgd", "scheduler": WARMUP, "weight_decay": 0.5, "beta1": 0.0}
    tx, _ = build_optimizer(config)
    params = PARAMS
    for step, (after, _, _) in enumerate(run(tx, lambda p, t: zeros(p), 8)):
        factor = 1 - reference_lr(step, **WARMUP) * 0.5
        for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(params), strict=True):
            np.testing.assert_allclose(a, factor * b, rtol=1e-6)
        params = after


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_name_with_weight_decay_moves_the_weights_toward_zero(name):
    """The seed's bug: decay added after -lr made |p| grow for every name but adamw."""
    scheduler = {"lr": 0.01, "name": "constant"}
    tx, _ = build_optimizer({"name": name, "scheduler": scheduler, "weight_decay": 0.1})
    params = PARAMS
    for after, _, _ in run(tx, lambda p, t: zeros(p), 5):
        for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(params), strict=True):
            assert np.all(np.abs(a) < np.abs(b)), name
        params = after


@pytest.mark.parametrize("name", L2)
def test_l2_names_add_the_penalty_to_the_gradient(name):
    """adam, sgd, nadam, adamax, radam: the update is the optimizer's on g + wd * p."""
    scheduler = {"lr": 0.01, "name": "constant"}
    tx, _ = build_optimizer({"name": name, "scheduler": scheduler, "weight_decay": 0.1})
    grads = jax.tree.map(lambda p: jnp.cos(p), PARAMS)
    optimizer = {"sgd": lambda: optax.sgd(0.01, momentum=0.9)}.get(
        name, lambda: getattr(optax, name)(0.01)
    )()
    penalised = jax.tree.map(lambda g, p: g + 0.1 * p, grads, PARAMS)
    expected, _ = optimizer.update(penalised, optimizer.init(PARAMS), PARAMS)
    updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_lr_mult_scales_the_step_not_the_decoupled_decay():
    """Zero gradients: a group at lr_mult=10 decays like the rest; wd_mult=3 triples it."""
    groups = {
        "head": {"match": ["^head"], "lr_mult": 10.0},
        "backbone": {"match": ["^backbone"], "wd_mult": 3.0},
    }
    config = {"name": "adamw", "scheduler": WARMUP, "weight_decay": 0.2, "param_groups": groups}
    tx, _ = build_optimizer(config)
    (after, state, _), *_ = run(tx, lambda p, t: zeros(p), 1, params=PARAMS)
    s0 = reference_lr(0, **WARMUP)
    (after, state, _), *_ = run(tx, lambda p, t: zeros(p), 2)[1:]
    s1 = reference_lr(1, **WARMUP)
    head = PARAMS["head"]["kernel"] * (1 - s0 * 0.2) * (1 - s1 * 0.2)
    backbone = PARAMS["backbone"]["kernel"] * (1 - s0 * 0.6) * (1 - s1 * 0.6)
    np.testing.assert_allclose(after["head"]["kernel"], head, rtol=1e-6)
    np.testing.assert_allclose(after["backbone"]["kernel"], backbone, rtol=1e-6)
    applied = applied_hyperparams(state)
    np.testing.assert_allclose(applied["head"]["lr"], 10 * s1, rtol=1e-6)
    np.testing.assert_allclose(applied["head"]["weight_decay"], 0.2 * s1, rtol=1e-6)
    np.testing.assert_allclose(applied["backbone"]["weight_decay"], 0.6 * s1, rtol=1e-6)


FROZEN = {"frozen": {"match": ["^backbone"], "freeze": True}}


def test_frozen_parameters_get_zero_updates_and_hold_no_state():
    config = {"name": "adam", "scheduler": WARMUP, "param_groups": FROZEN, "weight_decay": 0.1}
    tx, _ = build_optimizer(config)
    history = run(tx, lambda p, t: jax.tree.map(jnp.ones_like, p), 3)
    for _, _, updates in history:
        assert not np.any(updates["backbone"]["kernel"]) and not np.any(updates["backbone"]["bias"])
    state_size = sum(leaf.size for leaf in jax.tree.leaves(tx.init(PARAMS)))
    head = sum(leaf.size for leaf in jax.tree.leaves(PARAMS["head"]))
    # Adam's two moments of the head, and scalars (counts, scheduled values): nothing of the
    # backbone's 40 values.
    assert 2 * head <= state_size < 2 * head + 16
    shapes = {leaf.shape for leaf in jax.tree.leaves(tx.init(PARAMS))}
    assert (7, 5) not in shapes and (5,) not in shapes


def test_frozen_parameters_are_left_out_of_the_clipping_norm():
    """A gradient large only on the frozen backbone does not shrink the head's update."""
    config = {"name": "sgd", "scheduler": {"lr": 0.1}, "beta1": 0.0, "grad_clip_norm": 1.0}
    tx, _ = build_optimizer({**config, "param_groups": FROZEN})
    grads = {
        "backbone": jax.tree.map(lambda p: jnp.full_like(p, 1e6), PARAMS["backbone"]),
        "head": jax.tree.map(lambda p: jnp.full_like(p, 0.1), PARAMS["head"]),
    }
    updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates["head"]["kernel"], -0.1 * 0.1, rtol=1e-6)
    # ... and without the freeze, the backbone's gradient dominates the norm.
    tx, _ = build_optimizer(config)
    updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
    assert np.all(np.abs(updates["head"]["kernel"]) < 1e-6)


def test_the_plateau_scales_the_schedule_without_cutting_the_warmup_short():
    """The applied LR is s(t) * scale(t): the schedule keeps its steps (the warmup goes on
    rising under a reduced scale), the plateau's state is in the optimizer state, and the loss
    arrives as optax's value= extra argument, under jit."""
    plateau = {"factor": 0.5, "patience": 1, "atol": 0.01}
    tx, _ = build_optimizer({"name": "adamw", "scheduler": WARMUP, "plateau": plateau})
    state = tx.init(PARAMS)
    assert any(isinstance(s, optax.contrib.ReduceLROnPlateauState) for s in state)

    @jax.jit
    def step(state, loss):
        grads = jax.tree.map(jnp.ones_like, PARAMS)
        _, state = tx.update(grads, state, PARAMS, value=loss)
        return state, applied_hyperparams(state)

    scales, lrs = [], []
    for t in range(5):  # a flat loss during the warmup
        state, applied = step(state, jnp.asarray(1.0))
        scales.append(float(applied["default"]["plateau_scale"]))
        lrs.append(float(applied["default"]["lr"]))
        np.testing.assert_allclose(lrs[-1], reference_lr(t, **WARMUP) * scales[-1], rtol=1e-6)
    assert scales[-1] < 1.0
    unscaled = [lr / scale for lr, scale in zip(lrs, scales, strict=True)]
    assert all(b > a for a, b in itertools.pairwise(unscaled))  # the warmup still rises


def test_a_plateau_needs_the_loss():
    tx, _ = build_optimizer({"name": "adam", "scheduler": WARMUP, "plateau": {}})
    with pytest.raises(TypeError, match="value"):
        tx.update(zeros(PARAMS), tx.init(PARAMS), PARAMS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"param_groups": {"head": {"match": ["^head", "decoder"]}}},
            "param_groups.head.match[1]='decoder' matches no parameter; the parameters' paths "
            "are: backbone.bias, backbone.kernel, head.bias, head.kernel",
        ),
        (
            {"param_groups": {"all": {"match": ["kernel"]}, "head": {"match": ["head.kernel"]}}},
            "param_groups.head.match=['head.kernel'] matches only parameters that an earlier "
            "group takes (the first match wins; earlier: all)",
        ),
        (
            {"weight_decay": 0.1, "weight_decay_exclude": ["norm"]},
            "weight_decay_exclude[0]='norm' matches no parameter",
        ),
        (
            {"layer_decay": 0.5, "layer_index": r"(kernel|bias)"},
            "layer_index='(kernel|bias)' finds 'bias' in 'backbone.bias': expected a layer number",
        ),
        (
            {"layer_decay": 0.5, "layer_index": r"layers\.(\d+)"},
            r"layer_index='layers\\.(\\d+)' matches no trained parameter",
        ),
    ],
)
def test_a_pattern_that_cannot_be_honoured_is_an_error_at_init(extra, message):
    tx, _ = build_optimizer({"name": "adamw", "scheduler": WARMUP, **extra})
    with pytest.raises(ScheduleConfigError, match=re.escape(message)):
        tx.init(PARAMS)


def test_layer_decay_scales_each_layer_by_its_depth():
    params = {f"layers.{i}": {"w": jnp.ones(2)} for i in range(3)} | {"head": {"w": jnp.ones(2)}}
    config = {"name": "sgd", "beta1": 0.0, "scheduler": {"lr": 1.0}}
    tx, _ = build_optimizer({**config, "layer_decay": 0.5, "layer_index": r"^layers\.(\d+)"})
    grads = jax.tree.map(jnp.ones_like, params)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    for i, factor in enumerate([0.25, 0.5, 1.0]):
        np.testing.assert_allclose(updates[f"layers.{i}"]["w"], -factor)
    np.testing.assert_allclose(updates["head"]["w"], -1.0)
    applied = applied_hyperparams(state)
    assert sorted(applied) == ["default", "default/layer0", "default/layer1", "default/layer2"]
    np.testing.assert_allclose(applied["default/layer0"]["lr"], 0.25)


def test_a_group_on_its_own_schedule():
    own = {"lr": 1.0, "name": "linear", "decay_steps": 4, "end_lr": 0.0}
    groups = {"head": {"match": ["^head"], "scheduler": own, "lr_mult": 2.0}}
    tx, schedule = build_optimizer({"name": "adamw", "scheduler": WARMUP, "param_groups": groups})
    assert schedule(3) == pytest.approx(reference_lr(3, **WARMUP), rel=1e-12)
    *_, (_, state, _) = run(tx, lambda p, t: zeros(p), 3)
    applied = applied_hyperparams(state)
    np.testing.assert_allclose(applied["head"]["lr"], 2.0 * reference_lr(2, **own), rtol=1e-6)
    np.testing.assert_allclose(applied["default"]["lr"], reference_lr(2, **WARMUP), rtol=1e-6)


def test_applied_hyperparams_names_what_it_cannot_read():
    with pytest.raises(ValueError, match="no state of a build_optimizer"):
        applied_hyperparams(optax.adam(0.1).init(PARAMS))


def test_the_schedule_is_the_scheduler_config_s():
    config = SchedulerConfig(lr=3e-4, name="cosine", decay_steps=100, warmup_steps=10)
    _, schedule = build_optimizer({"name": "adam", "scheduler": config})
    fields = {"lr": 3e-4, "name": "cosine", "decay_steps": 100, "warmup_steps": 10}
    for t in (0, 10, 55, 100):
        assert schedule(t) == pytest.approx(reference_lr(t, **fields), rel=1e-12, abs=1e-18)


@pytest.mark.parametrize("name", ["adamw", "sgd", "lamb"])
def test_bfloat16_parameters_get_bfloat16_updates_and_float32_logged_values(name):
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    tx, _ = build_optimizer({"name": name, "scheduler": WARMUP, "weight_decay": 0.1})
    state = tx.init(params)
    updates, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
    updates, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
    assert {u.dtype for u in jax.tree.leaves(updates)} == {jnp.dtype(jnp.bfloat16)}
    applied = applied_hyperparams(state)["default"]
    assert applied["lr"].dtype == jnp.float32
    assert float(applied["lr"]) == pytest.approx(reference_lr(1, **WARMUP), rel=1e-7)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"scheduler": {"lr": -1.0}}, "scheduler.lr=-1.0 is invalid"),
        (
            {
                "scheduler": WARMUP,
                "param_groups": {"head": {"match": "head", "scheduler": {"lr": 1, "lrr": 2}}},
            },
            "param_groups.head.scheduler.lrr is not a scheduler field",
        ),
        ({"scheduler": SchedulerConfig(lr=0.0)}, "lr=0.0 is invalid"),
    ],
)
def test_a_bad_schedule_fails_the_build_naming_where_it_sits(config, message):
    """Nothing half-built: every schedule is built (and checked) by build_optimizer itself."""
    with pytest.raises(ScheduleConfigError, match=re.escape(message)):
        build_optimizer({"name": "adam", **config})
