"""Section 6: composed schedules (issue 11) under ``jax.jit`` over 1M steps and on the host.

100 cosine cycles vs 1 cycle and ``optax.sgdr_schedule``, ``multistep`` with 100 milestones
vs ``optax.piecewise_constant_schedule``, 100 stages vs 3.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hydra_optax_schedules import SchedulerConfig, StageConfig, build_lr_scheduler
from sections.common import (
    LR,
    WARMUP_CALLS,
    Sizes,
    check_same_values,
    compiled_text,
    hlo_instruction_count,
    interleaved_ms,
    per_call_us,
)

#: Pieces of the composed schedules (issue 11): cycles, milestones, stages.
PIECES = 100

#: The composed schedules in the order the table lists them; ``_host_us_per_call`` is
#: measured for the three of 100 pieces that this project builds.
NAMES = (
    "cycles_1",
    "cycles_100",
    "optax_sgdr_100",
    "multistep_100",
    "optax_piecewise_100",
    "stages_3",
    "stages_100",
)
HOST_TIMED = ("cycles_100", "stages_100", "multistep_100")


def composed_schedules(steps: int) -> dict[str, Callable[[Any], Any]]:
    """The composed schedules of issue 11 over ``steps`` steps, and their optax equivalents.

    100 equal cosine cycles (hard restarts, ``E = 0``) against ``optax.sgdr_schedule`` with
    100 pieces, and 1 cycle; ``multistep`` with 100 milestones against
    ``optax.piecewise_constant_schedule`` with the same boundaries; 100 and 3 stages.
    """
    length = steps // PIECES
    milestones = tuple(i * length + length // 2 for i in range(PIECES))
    sgdr_piece = {"init_value": LR, "peak_value": LR, "decay_steps": length}
    sgdr_piece |= {"warmup_steps": 0, "end_value": 0.0}

    def cycles(count: int) -> Callable[[Any], Any]:
        config = SchedulerConfig(lr=LR, name="cosine", decay_steps=PIECES * length, cycles=count)
        return build_lr_scheduler(config)

    def stages(count: int) -> Callable[[Any], Any]:
        shapes = ("cosine", "linear", "constant")
        listed = []
        for j in range(count):
            start = 1.0 / (j + 1)
            end = start if shapes[j % 3] == "constant" else start / 2
            listed.append(
                StageConfig(
                    steps=PIECES * length // count, shape=shapes[j % 3], start=start, end=end
                )
            )
        return build_lr_scheduler(SchedulerConfig(lr=LR, name="stages", stages=tuple(listed)))

    multistep = SchedulerConfig(lr=LR, name="multistep", milestones=milestones, decay_factor=0.97)
    return {
        "cycles_1": cycles(1),
        "cycles_100": cycles(PIECES),
        "optax_sgdr_100": optax.sgdr_schedule([sgdr_piece] * PIECES),
        "multistep_100": build_lr_scheduler(multistep),
        "optax_piecewise_100": optax.piecewise_constant_schedule(
            LR, {step: 0.97 for step in milestones}
        ),
        "stages_3": stages(3),
        "stages_100": stages(PIECES),
    }


def bench_composed(sizes: Sizes) -> dict[str, float]:
    """Issue 11: jitted time and compiled size of 100 cycles, milestones and stages, side by
    side with 1 cycle, 3 stages and optax's equivalents; host time per call."""
    schedules = composed_schedules(sizes.composed_steps)
    steps = jnp.arange(sizes.composed_steps, dtype=jnp.int32)
    functions = {name: jax.jit(lambda s, f=f: f(s)) for name, f in schedules.items()}
    result: dict[str, float] = {"steps": sizes.composed_steps, "pieces": PIECES}
    for name, function in functions.items():
        result[f"{name}_hlo_instructions"] = hlo_instruction_count(
            compiled_text(function.lower(steps))
        )
        for _ in range(WARMUP_CALLS):
            jax.block_until_ready(function(steps))
    for ours, theirs in (
        ("cycles_100", "optax_sgdr_100"),
        ("multistep_100", "optax_piecewise_100"),
    ):
        result[f"{ours}_max_abs_difference"] = check_same_values(
            functions[ours](steps), functions[theirs](steps), f"{ours} under jit"
        )
    times = interleaved_ms(functions, steps, sizes.composed_repeats)
    for name, arm_times in times.items():
        result[f"{name}_ms"] = statistics.median(arm_times)
    host_steps = [int(step) for step in np.linspace(0, sizes.composed_steps, sizes.host_calls)]
    for name in HOST_TIMED:
        result[f"{name}_host_us_per_call"] = per_call_us(
            schedules[name], host_steps, sizes.host_repeats
        )
    return result
