"""Section 4: a tiny jitted MLP train step with ``optax.adamw``, per learning rate."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sections.common import LR, Sizes, interleaved, optax_schedule, our_schedule


def mlp_loss(params: dict[str, Any], inputs: Any, targets: Any) -> Any:
    """Mean squared error of a two-layer tanh MLP."""
    hidden = jnp.tanh(inputs @ params["w1"] + params["b1"])
    return jnp.mean((hidden @ params["w2"] + params["b2"] - targets) ** 2)


def make_train_step(optimizer: optax.GradientTransformation) -> Callable[..., Any]:
    """A jitted step: gradients, the optimizer's update, new parameters."""

    def train_step(params: Any, opt_state: Any, inputs: Any, targets: Any) -> Any:
        loss, grads = jax.value_and_grad(mlp_loss)(params, inputs, targets)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(train_step)


def tiny_mlp() -> tuple[dict[str, Any], Any, Any]:
    """``(params, inputs, targets)``: a 32-64-1 MLP's parameters and one batch of 64."""
    rng = np.random.default_rng(0)
    params = {
        "w1": jnp.asarray(rng.normal(size=(32, 64)) / 8, jnp.float32),
        "b1": jnp.zeros(64),
        "w2": jnp.asarray(rng.normal(size=(64, 1)) / 8, jnp.float32),
        "b2": jnp.zeros(1),
    }
    inputs = jnp.asarray(rng.normal(size=(64, 32)), jnp.float32)
    targets = jnp.asarray(rng.normal(size=(64, 1)), jnp.float32)
    return params, inputs, targets


def bench_train_step(sizes: Sizes) -> dict[str, float]:
    """Median time of a tiny MLP's adamw step, per learning rate, in microseconds.

    Four arms: this schedule, its optax equivalent, ``optax.constant_schedule`` (a callable
    that returns the constant) and the plain float. Any callable makes optax keep a step
    count in its state, so the callable constant separates that cost from the schedule's math.
    """
    params, inputs, targets = tiny_mlp()
    learning_rates = {
        "schedule": our_schedule(),
        "optax_join": optax_schedule(),
        "constant_schedule": optax.constant_schedule(LR),
        "constant": LR,
    }
    blocks = {}
    for arm, learning_rate in learning_rates.items():
        optimizer = optax.adamw(learning_rate, weight_decay=1e-4)
        state = (params, optimizer.init(params))
        blocks[arm] = timed_block(make_train_step(optimizer), state, (inputs, targets), sizes)
        blocks[arm]()  # compiles, outside the timing
    times = interleaved(blocks, sizes.train_blocks)
    result: dict[str, float] = {"steps_per_block": sizes.train_steps}
    for arm, arm_times in times.items():
        result[f"{arm}_us_per_step"] = statistics.median(arm_times)
    schedule, constant = result["schedule_us_per_step"], result["constant_us_per_step"]
    result["ratio"] = schedule / constant
    result["optax_join_ratio"] = result["optax_join_us_per_step"] / constant
    result["ratio_vs_constant_schedule"] = schedule / result["constant_schedule_us_per_step"]
    return result


def timed_block(
    step: Callable[..., Any], state: tuple[Any, Any], batch: tuple[Any, Any], sizes: Sizes
) -> Callable[[], float]:
    """A thunk that runs ``sizes.train_steps`` steps from the last state, in us per step."""

    def run() -> float:
        nonlocal state
        start = time.perf_counter()
        for _ in range(sizes.train_steps):
            *state, loss = step(*state, *batch)
        jax.block_until_ready((state, loss))
        return (time.perf_counter() - start) / sizes.train_steps * 1e6

    return run
