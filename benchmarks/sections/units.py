"""Section 8 (issue 20): a schedule counted in samples under a batch-size ramp vs in steps.

The benchmarked cosine (``sections.common``) counted in samples: ``units.decay`` and
``units.warmup`` are its lengths times 8 samples, under a ramp from batch 8 whose ``points``
points raise the batch by 1 every 100 samples (``lr_scaling: sqrt``, so the factor is looked
up too), against the same cosine counted in steps.

Figures:

- ``train_step``: a tiny MLP's jitted ``optax.adamw`` step (``sections.train_step``) with each
  schedule, in us per step, and their ratio: what training pays (one step per update);
- ``vector``: the schedule under ``jit`` over ``sizes.vector_steps`` int32 steps at once, ms,
  for a constant batch and ramps of 9, 100 and 10 000 points: what the viewer pays (a gather
  per step that a schedule counted in steps does not need, whatever the number of points);
- ``vector_floor``: the schedule counted in steps, each step first read from a table
  (:func:`one_lookup`): the least that any map found by a lookup costs under XLA on CPU,
  where a gather keeps the loop from being vectorized;
- ``hlo``: compiled instructions over 64 steps, per number of points and spacing (even, and
  crowded: half the points one sample apart): bounded whatever the points.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy
import optax

from hydra_optax_schedules import build_lr_scheduler
from sections.common import (
    COOLDOWN_LR,
    COOLDOWN_STEPS,
    DECAY_STEPS,
    END_LR_FACTOR,
    LR,
    WARMUP_STEPS,
    Sizes,
    hlo_instruction_count,
    interleaved,
    interleaved_ms,
    our_schedule,
)
from sections.train_step import make_train_step, timed_block, tiny_mlp

#: The batch size at the start of the ramp, in samples per step.
FIRST_BATCH = 8


def ramp(points: int, crowded: bool = False) -> list[list[int]]:
    """``points`` ramp points from batch ``FIRST_BATCH``, one more sample per step every 100
    samples (crowded: the first half one sample apart)."""
    spacing = [1 if crowded and i < points // 2 else 100 for i in range(points)]
    return [[sum(spacing[:i]), FIRST_BATCH + i] for i in range(points)]


def counted(points: int | None, crowded: bool = False) -> Callable[[Any], Any]:
    """The benchmarked cosine counted in samples: a constant batch, or a ramp of ``points``."""
    units: dict[str, Any] = {
        "unit": "samples",
        "decay": DECAY_STEPS * FIRST_BATCH,
        "warmup": WARMUP_STEPS * FIRST_BATCH,
        "cooldown": COOLDOWN_STEPS * FIRST_BATCH,
    }
    if points is None:
        units["batch_size"] = FIRST_BATCH
    else:
        units |= {"ramp": ramp(points, crowded), "lr_scaling": "sqrt"}
    fields = {"lr": LR, "name": "cosine", "end_lr_factor": END_LR_FACTOR}
    return build_lr_scheduler(fields | {"cooldown_lr": COOLDOWN_LR, "units": units})


def one_lookup(schedule: Callable[[Any], Any], entries: int = 256) -> Callable[[Any], Any]:
    """``schedule`` at each step read from a table of the first ``entries`` steps (past it,
    the step itself): the same values, at the price of one gather per step."""
    # One entry more, never read, breaks the arithmetic progression: XLA replaces a lookup in
    # one (an iota, or a multiple of it) by arithmetic, and this one would then cost nothing.
    table = numpy.append(numpy.arange(entries, dtype=numpy.int32), numpy.int32(0))

    def looked_up(steps: Any) -> Any:
        read = jnp.asarray(table)[jnp.clip(steps, 0, entries - 1)]
        return schedule(read + jnp.maximum(steps - (entries - 1), 0))

    return looked_up


def bench_units(sizes: Sizes) -> dict[str, float]:
    """The figures of the module's docstring."""
    result: dict[str, float] = {}
    params, inputs, targets = tiny_mlp()
    blocks = {}
    arms = {"steps": our_schedule(), "ramp_100": counted(100), "ramp_10000": counted(10_000)}
    for arm, schedule in arms.items():
        optimizer = optax.adamw(schedule, weight_decay=1e-4)
        state = (params, optimizer.init(params))
        blocks[arm] = timed_block(make_train_step(optimizer), state, (inputs, targets), sizes)
        blocks[arm]()  # compiles, outside the timing
    for arm, times in interleaved(blocks, sizes.train_blocks).items():
        result[f"train_step_{arm}_us"] = statistics.median(times)
    for points in (100, 10_000):
        ratio = result[f"train_step_ramp_{points}_us"] / result["train_step_steps_us"]
        result[f"train_step_ramp_{points}_ratio"] = ratio

    steps = jnp.arange(sizes.vector_steps, dtype=jnp.int32)
    arms = {"steps": our_schedule(), "constant": counted(None)}
    arms |= {f"ramp_{points}": counted(points) for points in (9, 100, 10_000)}
    arms["floor"] = one_lookup(our_schedule())
    functions = {arm: jax.jit(schedule) for arm, schedule in arms.items()}
    for function in functions.values():
        jax.block_until_ready(function(steps))  # compiles, outside the timing
    for arm, times in interleaved_ms(functions, steps, sizes.vector_repeats).items():
        result[f"vector_{arm}_ms"] = statistics.median(times)
    for arm in arms:
        result[f"vector_{arm}_ratio"] = result[f"vector_{arm}_ms"] / result["vector_steps_ms"]

    sample = jnp.arange(64, dtype=jnp.int32)
    hlo = {"steps": our_schedule()}
    for points in (9, 100, 10_000):
        hlo[f"ramp_{points}"] = counted(points)
        hlo[f"ramp_{points}_crowded"] = counted(points, crowded=True)
    for arm, schedule in hlo.items():
        compiled = jax.jit(schedule).lower(sample).compile()
        result[f"hlo_{arm}"] = hlo_instruction_count(compiled.as_text() or "")
    result["hlo_ramp_most"] = max(v for k, v in result.items() if k.startswith("hlo_ramp_"))
    return result
