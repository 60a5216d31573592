"""What the sections share: the schedule compared, the sizes, timing and HLO helpers.

The benchmarked config is cosine with ``lr=3e-3``, ``decay_steps=10000``,
``warmup_steps=100``, ``cooldown_steps=200``, ``end_lr_factor=0.1``, ``cooldown_lr=0``, and
its optax equivalent (``join_schedules`` of a linear warmup, a cosine decay and a linear
cooldown).
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import jax
import numpy as np
import omegaconf
import optax

import hydra_optax_schedules
from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

LR = 3e-3
DECAY_STEPS = 10_000
WARMUP_STEPS = 100
COOLDOWN_STEPS = 200
END_LR_FACTOR = 0.1
COOLDOWN_LR = 0.0

# Steps past the end are evaluated too: training loops often run beyond decay_steps.
STEP_RANGE = DECAY_STEPS + DECAY_STEPS // 10
# Both schedules must give the same values, or the comparison means nothing (float32 rounding).
SAME_VALUE_ATOL = 1e-6 * LR
# Untimed calls before timing a jitted function: the first few run slower than the rest.
WARMUP_CALLS = 3


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    startup_runs: int  # timed app starts per arm (one more, untimed, fills the bytecode cache)
    host_calls: int  # calls of this project's schedule per repeat
    optax_host_calls: int  # calls of the eager optax schedule per repeat (~1 ms each)
    host_repeats: int
    vector_steps: int
    vector_repeats: int
    train_steps: int  # steps per timed block
    train_blocks: int
    sweep_jobs: int
    composed_steps: int  # run length of the composed schedules (100 pieces)
    composed_repeats: int  # optax's sgdr_schedule at 100 pieces takes ~0.5 s per evaluation


FULL = Sizes(
    startup_runs=30,
    host_calls=20_000,
    optax_host_calls=200,
    host_repeats=5,
    vector_steps=1_000_000,
    vector_repeats=100,
    train_steps=200,
    train_blocks=50,
    sweep_jobs=100,
    composed_steps=1_000_000,
    composed_repeats=15,
)
SMOKE = Sizes(
    startup_runs=2,
    host_calls=200,
    optax_host_calls=5,
    host_repeats=2,
    vector_steps=1_000,
    vector_repeats=3,
    train_steps=5,
    train_blocks=3,
    sweep_jobs=5,
    composed_steps=1_000,
    composed_repeats=2,
)


def our_schedule() -> Callable[[Any], Any]:
    """The benchmarked config, built by this project."""
    return build_lr_scheduler(
        SchedulerConfig(
            lr=LR,
            name="cosine",
            decay_steps=DECAY_STEPS,
            warmup_steps=WARMUP_STEPS,
            cooldown_steps=COOLDOWN_STEPS,
            end_lr_factor=END_LR_FACTOR,
            cooldown_lr=COOLDOWN_LR,
        )
    )


def optax_schedule() -> Callable[[Any], Any]:
    """The same schedule written with optax: warmup, cosine and cooldown joined."""
    end_lr = END_LR_FACTOR * LR
    main_steps = DECAY_STEPS - WARMUP_STEPS - COOLDOWN_STEPS
    schedule: Callable[[Any], Any] = optax.join_schedules(
        [
            optax.linear_schedule(0.0, LR, WARMUP_STEPS),
            optax.cosine_decay_schedule(LR, main_steps, alpha=end_lr / LR),
            optax.linear_schedule(end_lr, COOLDOWN_LR, COOLDOWN_STEPS),
        ],
        [WARMUP_STEPS, DECAY_STEPS - COOLDOWN_STEPS],
    )
    return schedule


def check_same_values(ours: Any, theirs: Any, what: str) -> float:
    """The largest absolute difference; an error if the two are not the same schedule."""
    difference = float(np.max(np.abs(np.asarray(ours, np.float64) - np.asarray(theirs))))
    if not difference <= SAME_VALUE_ATOL:
        raise RuntimeError(f"{what}: this project and optax differ by {difference:.3g}")
    return difference


def per_call_us(schedule: Callable[[Any], Any], steps: list[int], repeats: int) -> float:
    """Median over ``repeats`` of the time per ``float(schedule(step))``, in microseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for step in steps:
            float(schedule(step))
        times.append((time.perf_counter() - start) / len(steps))
    return statistics.median(times) * 1e6


def spread_steps(count: int) -> list[int]:
    """``count`` Python ints spread evenly over the schedule and a little past its end."""
    return [int(step) for step in np.linspace(0, STEP_RANGE, count)]


def interleaved(thunks: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each thunk's timings over ``rounds`` rounds, taking the thunks in turn.

    The order reverses every other round (ABBA), so changes in the machine's load hit every
    arm alike.
    """
    times: dict[str, list[float]] = {name: [] for name in thunks}
    for round_ in range(rounds):
        for name in list(thunks) if round_ % 2 == 0 else reversed(thunks):
            times[name].append(thunks[name]())
    return times


def elapsed_ms(function: Callable[[Any], Any], argument: Any) -> float:
    """One timing of ``function(argument)`` to completion, in milliseconds."""
    start = time.perf_counter()
    jax.block_until_ready(function(argument))
    return (time.perf_counter() - start) * 1e3


def interleaved_ms(
    functions: Mapping[str, Callable[[Any], Any]], argument: Any, rounds: int
) -> dict[str, list[float]]:
    """Each function's times on ``argument`` (``elapsed_ms``) over ``rounds`` rounds, in turn."""
    return interleaved(
        {
            name: functools.partial(elapsed_ms, function, argument)
            for name, function in functions.items()
        },
        rounds,
    )


def compiled_text(lowered: jax.stages.Lowered) -> str:
    """The optimized HLO module that a lowered function compiles to, as text."""
    text = lowered.compile().as_text()
    if text is None:
        raise RuntimeError("the compiled function gives no HLO text")
    return text


def hlo_instruction_count(compiled_hlo: str) -> int:
    """Instructions in an optimized HLO module: ``%name = ...`` lines in every computation.

    That is the ENTRY computation and every fused or called computation, parameters,
    constants and broadcasts included, so both sides are counted the same way.
    """
    return sum(
        line.lstrip().removeprefix("ROOT ").startswith("%") for line in compiled_hlo.splitlines()
    )


def stablehlo_op_count(lowered_text: str) -> int:
    """Operations JAX emits before XLA optimizes: ``stablehlo.*`` ops in the lowered module."""
    return sum(" stablehlo." in line for line in lowered_text.splitlines())


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Where and with what the figures were measured."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "optax": optax.__version__,
        "hydra": hydra.__version__,
        "omegaconf": omegaconf.__version__,
        "numpy": np.__version__,
        "hydra_optax_schedules": hydra_optax_schedules.__version__,
    }
