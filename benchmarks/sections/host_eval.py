"""Section 2: host evaluation, ``float(schedule(step))`` for Python ints."""

from __future__ import annotations

import jax

from sections.common import (
    Sizes,
    check_same_values,
    optax_schedule,
    our_schedule,
    per_call_us,
    spread_steps,
)


def bench_host_eval(sizes: Sizes) -> dict[str, float]:
    """``float(schedule(step))`` on Python ints: this project vs optax, eager and jitted."""
    ours, theirs = our_schedule(), optax_schedule()
    theirs_jitted = jax.jit(theirs)
    sample = spread_steps(sizes.optax_host_calls)
    difference = check_same_values(
        [ours(s) for s in sample], [float(theirs(s)) for s in sample], "host evaluation"
    )
    float(theirs_jitted(0))  # compile once, outside the timing
    ours_us = per_call_us(ours, spread_steps(sizes.host_calls), sizes.host_repeats)
    optax_us = per_call_us(theirs, sample, sizes.host_repeats)
    optax_jit_us = per_call_us(theirs_jitted, spread_steps(sizes.host_calls), sizes.host_repeats)
    return {
        "calls": sizes.host_calls,
        "ours_us_per_call": ours_us,
        "optax_us_per_call": optax_us,
        "speedup": optax_us / ours_us,
        "optax_jit_us_per_call": optax_jit_us,
        "speedup_vs_optax_jit": optax_jit_us / ours_us,
        "max_abs_difference": difference,
    }
