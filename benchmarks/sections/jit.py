"""Section 3: a vector of steps under ``jax.jit``, and the compiled HLO's size."""

from __future__ import annotations

import statistics

import jax
import jax.numpy as jnp
import numpy as np

from sections.common import (
    STEP_RANGE,
    WARMUP_CALLS,
    Sizes,
    check_same_values,
    compiled_text,
    hlo_instruction_count,
    interleaved_ms,
    optax_schedule,
    our_schedule,
    stablehlo_op_count,
)


def bench_jit(sizes: Sizes) -> dict[str, float]:
    """A vector of steps under ``jax.jit``: time per evaluation and compiled size, both sides."""
    steps = jnp.asarray(np.arange(sizes.vector_steps) % STEP_RANGE, dtype=jnp.int32)
    ours, theirs = our_schedule(), optax_schedule()
    functions = {"ours": jax.jit(lambda s: ours(s)), "optax": jax.jit(lambda s: theirs(s))}
    result: dict[str, float] = {"steps": sizes.vector_steps}
    for side, function in functions.items():
        lowered = function.lower(steps)
        result[f"{side}_hlo_instructions"] = hlo_instruction_count(compiled_text(lowered))
        result[f"{side}_stablehlo_ops"] = stablehlo_op_count(lowered.as_text())
        for _ in range(WARMUP_CALLS):  # compiles, then settles the thread pool and allocator
            jax.block_until_ready(function(steps))
    result["max_abs_difference"] = check_same_values(
        functions["ours"](steps), functions["optax"](steps), "jitted evaluation"
    )
    times = interleaved_ms(functions, steps, sizes.vector_repeats)
    result["ours_ms"] = statistics.median(times["ours"])
    result["optax_ms"] = statistics.median(times["optax"])
    result["ratio"] = result["ours_ms"] / result["optax_ms"]
    return result
