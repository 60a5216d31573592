"""use_sharded_clip_norm, measured: under jit, the clipping norm of parameters sharded over
devices is the norm of the whole arrays (what use_sharded_clip_norm=True asks for), with JAX's
global arrays and nothing else; in a subprocess with 4 CPU devices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CODE = textwrap.dedent(
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec

    from hydra_optax_schedules import build_optimizer

    assert jax.device_count() == 4
    mesh = jax.make_mesh((4,), ("x",))
    sharded = NamedSharding(mesh, PartitionSpec("x"))
    params = {"w": jnp.arange(32.0).reshape(8, 4), "b": jnp.ones(4)}
    grads = {"w": jnp.arange(32.0).reshape(8, 4) + 1.0, "b": jnp.full(4, 3.0)}
    params["w"] = jax.device_put(params["w"], sharded)
    grads["w"] = jax.device_put(grads["w"], sharded)
    config = {"name": "sgd", "beta1": 0.0, "scheduler": {"lr": 1.0}, "grad_clip_norm": 1.0}
    tx, _ = build_optimizer(config)
    updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
    assert len(updates["w"].sharding.device_set) == 4
    norm = np.sqrt(sum(float(np.sum(np.asarray(g) ** 2)) for g in jax.tree.leaves(grads)))
    expected = {k: -np.asarray(g) / norm for k, g in grads.items()}
    for key in expected:
        np.testing.assert_allclose(np.asarray(updates[key]), expected[key], rtol=1e-6)
    print("whole-array norm")
    """
)


@pytest.mark.full
def test_the_clipping_norm_of_sharded_parameters_is_the_whole_arrays():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "whole-array norm"
