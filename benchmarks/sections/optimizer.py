"""Section 7 (issue 18): the optimizer from config vs the same optimizer written with optax.

A jitted MLP train step whose parameters fall in three trained groups and a frozen backbone:

- ``backbone`` (its first layer): frozen;
- ``head`` (the last layer): 10x the learning rate, no weight decay;
- ``bias`` (every other bias): 2x the learning rate, no weight decay;
- ``default`` (the rest): AdamW with ``weight_decay=0.1``;

all on the benchmarked cosine schedule, gradients clipped to a global norm of 1 over the
trained parameters. ``build_optimizer`` builds it from config; the hand-written equivalent is
``optax.chain(optax.masked(clip_by_global_norm), optax.multi_transform({...}, labels))`` with
``optax.adamw``/``optax.adam`` per label and ``optax.set_to_zero`` for the frozen one. Before
timing, both make three updates from the same start, which must agree, so that the two arms
compute the same thing.

Figures: the time per step of each (and their ratio), the optimizer state's bytes (all its
arrays) of each and of a single ``optax.adamw`` over every parameter (whose moments include the
frozen backbone's), the time per step when the step also returns
``applied_hyperparams(state)`` (what a training loop logs), as it is and stacked in one array,
against the same step without it, and the compiled instructions of each arm's update alone.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hydra_optax_schedules.optimizer import applied_hyperparams, build_optimizer
from sections.common import Sizes, hlo_instruction_count, interleaved, our_schedule
from sections.train_step import timed_block

#: Layer widths of the benchmarked MLP: input, three hidden layers, output.
WIDTHS = (64, 256, 256, 256, 8)
BATCH = 64
WEIGHT_DECAY = 0.1
CLIP_NORM = 1.0
HEAD_LR_MULT = 10.0
BIAS_LR_MULT = 2.0
#: The two arms' updates after three steps agree to this (float32 rounding of the same sums).
SAME_UPDATES_RTOL = 1e-5


def make_params(rng: np.random.Generator) -> dict[str, Any]:
    """``{"backbone": {w, b}, "layers": [{w, b}, ...], "head": {w, b}}``, in float32."""
    shapes = list(itertools.pairwise(WIDTHS))

    def layer(n_in: int, n_out: int) -> dict[str, Any]:
        w = rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)
        return {"w": jnp.asarray(w, jnp.float32), "b": jnp.zeros(n_out, jnp.float32)}

    return {
        "backbone": layer(*shapes[0]),
        "layers": [layer(*shape) for shape in shapes[1:-1]],
        "head": layer(*shapes[-1]),
    }


def loss_fn(params: dict[str, Any], inputs: Any, targets: Any) -> Any:
    """Mean squared error of the tanh MLP."""
    x = jnp.tanh(inputs @ params["backbone"]["w"] + params["backbone"]["b"])
    for layer in params["layers"]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return jnp.mean((x @ params["head"]["w"] + params["head"]["b"] - targets) ** 2)


def config() -> dict[str, Any]:
    """The optimizer, as a user writes it."""
    return {
        "name": "adamw",
        "scheduler": our_schedule(),
        "weight_decay": WEIGHT_DECAY,
        "grad_clip_norm": CLIP_NORM,
        "param_groups": {
            "backbone": {"match": [r"^backbone\."], "freeze": True},
            "head": {"match": [r"^head\."], "lr_mult": HEAD_LR_MULT, "wd_mult": 0.0},
            "bias": {"match": [r"\.b$"], "lr_mult": BIAS_LR_MULT, "wd_mult": 0.0},
        },
    }


def handwritten(params: dict[str, Any]) -> optax.GradientTransformation:
    """The same optimizer written with optax: labels by hand, a transformation per label."""
    schedule = our_schedule()
    labels = {
        "backbone": {"w": "frozen", "b": "frozen"},
        "layers": [{"w": "default", "b": "bias"} for _ in params["layers"]],
        "head": {"w": "head", "b": "head"},
    }
    trained = jax.tree.map(lambda label: label != "frozen", labels)
    return optax.chain(
        optax.masked(optax.clip_by_global_norm(CLIP_NORM), trained),
        optax.multi_transform(
            {
                "frozen": optax.set_to_zero(),
                "default": optax.adamw(schedule, weight_decay=WEIGHT_DECAY),
                "head": optax.adam(lambda count: schedule(count) * HEAD_LR_MULT),
                "bias": optax.adam(lambda count: schedule(count) * BIAS_LR_MULT),
            },
            labels,
        ),
    )


def state_bytes(state: Any) -> int:
    """The bytes of every array in an optimizer state."""
    return sum(int(np.asarray(leaf).nbytes) for leaf in jax.tree.leaves(state))


def make_step(tx: optax.GradientTransformation, log: str | None) -> Callable[..., Any]:
    """A jitted train step; with ``log``, it also returns ``applied_hyperparams`` of the new
    state, as a training loop that logs them does: ``"dict"`` as it is (a scalar per group and
    hyperparameter), ``"stacked"`` as one array of them all."""

    def step(params: Any, state: Any, inputs: Any, targets: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_fn)(params, inputs, targets)
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        if log is None:
            return params, state, loss
        applied: Any = applied_hyperparams(state)
        if log == "stacked":
            applied = jnp.stack(jax.tree.leaves(applied))
        return params, state, (loss, applied)

    return jax.jit(step)


def check_same_updates(
    arms: list[tuple[optax.GradientTransformation, Callable[..., Any]]],
    params: Any,
    batch: tuple[Any, Any],
) -> None:
    """Three updates from ``params`` by each ``(transformation, its step)`` agree, or an
    error."""
    results = []
    for tx, step in arms:
        state, current = tx.init(params), params
        for _ in range(3):
            current, state, _ = step(current, state, *batch)
        results.append(current)
    for a, b in zip(jax.tree.leaves(results[0]), jax.tree.leaves(results[1]), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=SAME_UPDATES_RTOL, atol=1e-7)


def bench_optimizer(sizes: Sizes) -> dict[str, float]:
    """Time per step (us) of the optimizer from config, its hand-written equivalent and the
    former logging its hyperparameters; the state's bytes of each and of one ``adamw``."""
    rng = np.random.default_rng(0)
    params = make_params(rng)
    batch = (
        jnp.asarray(rng.normal(size=(BATCH, WIDTHS[0])), jnp.float32),
        jnp.asarray(rng.normal(size=(BATCH, WIDTHS[-1])), jnp.float32),
    )
    ours, _ = build_optimizer(config())
    theirs = handwritten(params)
    arms = {
        "config": (ours, None),
        "handwritten": (theirs, None),
        "config_logged": (ours, "dict"),
        "config_logged_stacked": (ours, "stacked"),
    }
    steps = {arm: make_step(tx, log) for arm, (tx, log) in arms.items()}
    check_same_updates([(ours, steps["config"]), (theirs, steps["handwritten"])], params, batch)
    blocks = {}
    for arm, (tx, _) in arms.items():
        state = (params, tx.init(params))
        blocks[arm] = timed_block(steps[arm], state, batch, sizes)
        blocks[arm]()  # compiled already (the check, or here), outside the timing
    times = interleaved(blocks, sizes.train_blocks)
    result: dict[str, float] = {"steps_per_block": sizes.train_steps}
    for arm, arm_times in times.items():
        result[f"{arm}_us_per_step"] = statistics.median(arm_times)
    result["ratio"] = result["config_us_per_step"] / result["handwritten_us_per_step"]
    result["logging_ratio"] = result["config_logged_us_per_step"] / result["config_us_per_step"]
    result["logging_us_per_step"] = (
        result["config_logged_us_per_step"] - result["config_us_per_step"]
    )
    result["logging_stacked_ratio"] = (
        result["config_logged_stacked_us_per_step"] / result["config_us_per_step"]
    )
    result["state_bytes"] = state_bytes(ours.init(params))
    result["handwritten_state_bytes"] = state_bytes(theirs.init(params))
    result["one_adamw_state_bytes"] = state_bytes(optax.adamw(1e-3).init(params))
    result["parameter_bytes"] = state_bytes(params)
    for arm, tx in (("config", ours), ("handwritten", theirs)):
        result[f"{arm}_update_hlo_instructions"] = update_instructions(tx, params)
    return result


def update_instructions(tx: optax.GradientTransformation, params: Any) -> int:
    """Instructions of the compiled ``tx.update`` alone (gradients given), for the record of
    what each arm computes besides the model."""
    update = jax.jit(lambda grads, state, params: tx.update(grads, state, params))
    compiled = update.lower(params, tx.init(params), params).compile()
    return hlo_instruction_count(compiled.as_text() or "")
