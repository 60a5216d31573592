"""Parameter trees of real models: flax linen, flax nnx (nnx.state, nnx.split, nnx.Optimizer)
and equinox (eqx.filter): paths, groups, frozen parameters and layer decay (flax and equinox
are test dependencies only)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn
from flax import nnx

from hydra_optax_schedules import applied_hyperparams, build_optimizer
from hydra_optax_schedules.optimizer.paths import leaf_paths

SCHEDULER = {"lr": 0.01, "name": "constant"}


def config(**extra):
    return {"name": "adamw", "scheduler": SCHEDULER, "weight_decay": 0.1, **extra}


def check_frozen_and_trained(tx, params, grads, frozen_prefix):
    updates, state = tx.update(grads, tx.init(params), params)
    for path, update in zip(leaf_paths(params), jax.tree.leaves(updates), strict=True):
        if path.startswith(frozen_prefix):
            assert not np.any(update), path
        else:
            assert np.any(update), path
    return state


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(4, name="embed")(x)
        for i in range(2):
            x = nn.Dense(4, name=f"layers_{i}")(x)
        return nn.Dense(1, name="head")(x)


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_flax_linen():
    params = LinenMLP().init(jax.random.key(0), jnp.ones((1, 3)))
    assert leaf_paths(params)[:2] == ["params.embed.bias", "params.embed.kernel"]
    groups = {"embed": {"match": [r"\.embed\."], "freeze": True}}
    tx, _ = build_optimizer(
        config(
            param_groups=groups,
            weight_decay_exclude=["bias$"],
            layer_decay=0.5,
            layer_index=r"layers_(\d+)",
        )
    )

    def loss(p):
        return jnp.sum(LinenMLP().apply(p, jnp.ones((2, 3))) ** 2)

    state = check_frozen_and_trained(tx, params, jax.grad(loss)(params), "params.embed")
    assert sorted(applied_hyperparams(state)) == [
        "default",
        "default/layer0",
        "default/layer1",
        "embed",
    ]


class NnxModel(nnx.Module):
    def __init__(self, rngs):
        self.embed = nnx.Linear(3, 4, rngs=rngs)
        self.layers = nnx.List([nnx.Linear(4, 4, rngs=rngs) for _ in range(2)])
        self.norm = nnx.LayerNorm(4, rngs=rngs)
        self.head = nnx.Linear(4, 1, rngs=rngs)

    def __call__(self, x):
        x = self.embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x))


def nnx_loss(model):
    return jnp.sum(model(jnp.ones((2, 3))) ** 2)


@pytest.mark.parametrize("how", ["state", "split"])
def test_flax_nnx_state(how):
    model = NnxModel(nnx.Rngs(0))
    params = nnx.state(model, nnx.Param) if how == "state" else nnx.split(model)[1]
    assert "layers.1.kernel" in leaf_paths(params)  # a Variable's .value is left out
    groups = {"embed": {"match": ["^embed"], "freeze": True}, "norm": {"match": ["^norm"]}}
    tx, _ = build_optimizer(config(param_groups=groups, weight_decay_exclude=["bias$", "scale$"]))
    grads = nnx.grad(nnx_loss)(model)
    check_frozen_and_trained(tx, params, grads, "embed")


def test_flax_nnx_optimizer():
    model = NnxModel(nnx.Rngs(0))
    groups = {"embed": {"match": ["^embed"], "freeze": True}}
    tx, _ = build_optimizer(config(param_groups=groups))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    before = jax.tree.map(jnp.copy, nnx.state(model, nnx.Param))
    optimizer.update(model, nnx.grad(nnx_loss)(model))
    after = nnx.state(model, nnx.Param)
    np.testing.assert_array_equal(after["embed"]["kernel"][...], before["embed"]["kernel"][...])
    assert not np.array_equal(after["head"]["kernel"][...], before["head"]["kernel"][...])


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_equinox():
    model = eqx.nn.MLP(3, 1, 4, 2, key=jax.random.key(0))
    params = eqx.filter(model, eqx.is_array)
    assert leaf_paths(params)[:2] == ["layers.0.weight", "layers.0.bias"]
    groups = {"first": {"match": [r"^layers\.0\."], "freeze": True}}
    tx, _ = build_optimizer(config(param_groups=groups, grad_clip_norm=1.0))

    @eqx.filter_grad
    def grads_of(m):
        return jnp.sum(m(jnp.ones(3)) ** 2)

    check_frozen_and_trained(tx, params, grads_of(model), "layers.0")
    state = tx.init(params)
    updates, state = tx.update(grads_of(model), state, params)
    model = eqx.apply_updates(model, updates)
    assert isinstance(model, eqx.nn.MLP)
    assert optax.tree.norm(updates) > 0
