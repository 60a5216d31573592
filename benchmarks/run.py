"""Benchmark hydra-optax-schedules against optax and against a bare Hydra app (issue 7).

Five measurements, side by side in one run, of one schedule (then a sixth, of composed
schedules: see below): cosine with ``lr=3e-3``,
``decay_steps=10000``, ``warmup_steps=100``, ``cooldown_steps=200``, ``end_lr_factor=0.1``,
``cooldown_lr=0``, and its optax equivalent (``join_schedules`` of a linear warmup, a cosine
decay and a linear cooldown):

1. start-up of a bare ``@hydra.main`` app with the plugin installed vs hidden;
2. host evaluation, ``float(schedule(step))`` for Python ints;
3. evaluation of a vector of steps under ``jax.jit``, and the compiled HLO's size;
4. a tiny jitted MLP train step with ``optax.adamw``, this schedule vs a constant LR;
5. compose + instantiate per job for a sweep through Hydra's compose API;
6. composed schedules (issue 11): 100 cosine cycles vs 1 cycle and ``optax.sgdr_schedule``,
   ``multistep`` with 100 milestones vs ``optax.piecewise_constant_schedule``, 100 stages vs
   3, under ``jax.jit`` over 1M steps and on the host.

Usage::

    python benchmarks/run.py                 # full run (about a minute on 2 cores)
    python benchmarks/run.py --smoke         # tiny sizes, a few seconds: for CI, no verdicts
    python benchmarks/run.py --output PATH   # JSON destination (default benchmarks/results.json)
    python benchmarks/run.py --only composed # the composed schedules alone

It prints a table and writes the figures as JSON. Verdicts against the targets of issue 7
are printed for the full run only; nothing here fails on a timing.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import jax
import jax.numpy as jnp
import numpy as np
import omegaconf
import optax
from hydra.utils import instantiate

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
# Allowance for noise in a timing ratio: within it, "no slower". The same jitted function
# timed against itself this way stays within 0.5%.
RATIO_NOISE = 0.01
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

APP = """\
import sys

import hydra


@hydra.main(version_base=None, config_path=None, config_name=None)
def main(cfg):
    scanned = any(name.startswith("hydra_plugins.hydra_optax_schedules") for name in sys.modules)
    print("plugin=" + ("loaded" if scanned else "absent"))


if __name__ == "__main__":
    main()
"""

# Runs the app in both arms; only the ``hidden`` arm drops the plugin's directory from
# ``hydra_plugins.__path__``, so Hydra's scanner cannot find it. Everything else, the
# bootstrap's own cost included, is the same in both arms.
BOOTSTRAP = """\
import os, runpy, sys
import hydra_plugins
hide = sys.argv.pop(1) == "hidden"
hydra_plugins.__path__ = [
    path for path in hydra_plugins.__path__
    if not (hide and os.path.isdir(os.path.join(path, "hydra_optax_schedules")))
]
sys.argv = sys.argv[1:]  # the app's path, then Hydra's overrides
runpy.run_path(sys.argv[0], run_name="__main__")
"""


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
    return optax.join_schedules(
        [
            optax.linear_schedule(0.0, LR, WARMUP_STEPS),
            optax.cosine_decay_schedule(LR, main_steps, alpha=end_lr / LR),
            optax.linear_schedule(end_lr, COOLDOWN_LR, COOLDOWN_STEPS),
        ],
        [WARMUP_STEPS, DECAY_STEPS - COOLDOWN_STEPS],
    )


def check_same_values(ours: Any, theirs: Any, what: str) -> float:
    """The largest absolute difference; an error if the two are not the same schedule."""
    difference = float(np.max(np.abs(np.asarray(ours, np.float64) - np.asarray(theirs))))
    if not difference <= SAME_VALUE_ATOL:
        raise RuntimeError(f"{what}: this project and optax differ by {difference:.3g}")
    return difference


def bench_startup(runs: int) -> dict[str, float]:
    """Median start-up of a bare Hydra app, plugin installed vs hidden, in ms.

    Besides wall time, the child's CPU time (user + sys) is kept: it is far less disturbed
    by other processes on a shared machine.
    """
    cpu: dict[str, list[float]] = {"installed": [], "hidden": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp, "app.py")
        app.write_text(APP)
        # Bytecode cached as in any installed environment (an editable install run with
        # PYTHONDONTWRITEBYTECODE would recompile the package at every start), kept in tmp.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))

        def start_app(arm: str) -> float:
            command = [sys.executable, "-c", BOOTSTRAP, arm, str(app), f"hydra.run.dir={tmp}/run"]
            cpu_before = children_cpu_seconds()
            start = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            expected = "plugin=loaded" if arm == "installed" else "plugin=absent"
            if done.returncode != 0 or expected not in done.stdout:
                raise RuntimeError(f"the {arm} app failed:\n{done.stdout}{done.stderr}")
            cpu[arm].append((children_cpu_seconds() - cpu_before) * 1e3)
            return elapsed * 1e3

        for arm, cpu_times in cpu.items():
            start_app(arm)  # fills the bytecode cache: not timed
            cpu_times.clear()
        wall = interleaved({arm: functools.partial(start_app, arm) for arm in cpu}, runs)
    installed, hidden = statistics.median(wall["installed"]), statistics.median(wall["hidden"])
    return {
        "runs_per_arm": runs,
        "with_plugin_ms": installed,
        "without_plugin_ms": hidden,
        "overhead_ms": installed - hidden,
        "ratio": installed / hidden,
        "cpu_overhead_ms": statistics.median(cpu["installed"]) - statistics.median(cpu["hidden"]),
    }


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def bench_jit(sizes: Sizes) -> dict[str, float]:
    """A vector of steps under ``jax.jit``: time per evaluation and compiled size, both sides."""
    steps = jnp.asarray(np.arange(sizes.vector_steps) % STEP_RANGE, dtype=jnp.int32)
    ours, theirs = our_schedule(), optax_schedule()
    functions = {"ours": jax.jit(lambda s: ours(s)), "optax": jax.jit(lambda s: theirs(s))}
    result: dict[str, float] = {"steps": sizes.vector_steps}
    for side, function in functions.items():
        lowered = function.lower(steps)
        result[f"{side}_hlo_instructions"] = hlo_instruction_count(lowered.compile().as_text())
        result[f"{side}_stablehlo_ops"] = stablehlo_op_count(lowered.as_text())
        for _ in range(WARMUP_CALLS):  # compiles, then settles the thread pool and allocator
            jax.block_until_ready(function(steps))
    result["max_abs_difference"] = check_same_values(
        functions["ours"](steps), functions["optax"](steps), "jitted evaluation"
    )
    times = interleaved(
        {side: lambda f=function: elapsed_ms(f, steps) for side, function in functions.items()},
        sizes.vector_repeats,
    )
    result["ours_ms"] = statistics.median(times["ours"])
    result["optax_ms"] = statistics.median(times["optax"])
    result["ratio"] = result["ours_ms"] / result["optax_ms"]
    return result


#: Pieces of the composed schedules (issue 11): cycles, milestones, stages.
PIECES = 100


def composed_schedules(steps: int) -> dict[str, Callable[[Any], Any]]:
    """The composed schedules of issue 11 over ``steps`` steps, and their optax equivalents.

    100 equal cosine cycles (hard restarts, ``E = 0``) against ``optax.sgdr_schedule`` with
    100 pieces, and 1 cycle; ``multistep`` with 100 milestones against
    ``optax.piecewise_constant_schedule`` with the same boundaries; 100 and 3 stages.
    """
    length = steps // PIECES
    cycle = {"lr": LR, "name": "cosine", "decay_steps": PIECES * length}
    milestones = [i * length + length // 2 for i in range(PIECES)]
    sgdr_piece = {"init_value": LR, "peak_value": LR, "decay_steps": length}
    sgdr_piece |= {"warmup_steps": 0, "end_value": 0.0}

    def stages(count: int) -> Callable[[Any], Any]:
        shapes = ("cosine", "linear", "constant")
        listed = []
        for j in range(count):
            start = 1.0 / (j + 1)
            end = start if shapes[j % 3] == "constant" else start / 2
            listed.append(
                {
                    "steps": PIECES * length // count,
                    "shape": shapes[j % 3],
                    "start": start,
                    "end": end,
                }
            )
        return build_lr_scheduler(SchedulerConfig(lr=LR, name="stages", stages=listed))

    return {
        "cycles_1": build_lr_scheduler(SchedulerConfig(**cycle)),
        "cycles_100": build_lr_scheduler(SchedulerConfig(**cycle, cycles=PIECES)),
        "optax_sgdr_100": optax.sgdr_schedule([sgdr_piece] * PIECES),
        "multistep_100": build_lr_scheduler(
            SchedulerConfig(lr=LR, name="multistep", milestones=milestones, decay_factor=0.97)
        ),
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
            function.lower(steps).compile().as_text()
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
    times = interleaved(
        {name: lambda f=function: elapsed_ms(f, steps) for name, function in functions.items()},
        sizes.composed_repeats,
    )
    for name, arm_times in times.items():
        result[f"{name}_ms"] = statistics.median(arm_times)
    host_steps = [int(step) for step in np.linspace(0, sizes.composed_steps, sizes.host_calls)]
    for name in ("cycles_100", "stages_100", "multistep_100"):
        result[f"{name}_host_us_per_call"] = per_call_us(
            schedules[name], host_steps, sizes.host_repeats
        )
    return result


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


def bench_train_step(sizes: Sizes) -> dict[str, float]:
    """Median time of a tiny MLP's adamw step, per learning rate, in microseconds.

    Four arms: this schedule, its optax equivalent, ``optax.constant_schedule`` (a callable
    that returns the constant) and the plain float. Any callable makes optax keep a step
    count in its state, so the callable constant separates that cost from the schedule's math.
    """
    rng = np.random.default_rng(0)
    params = {
        "w1": jnp.asarray(rng.normal(size=(32, 64)) / 8, jnp.float32),
        "b1": jnp.zeros(64),
        "w2": jnp.asarray(rng.normal(size=(64, 1)) / 8, jnp.float32),
        "b2": jnp.zeros(1),
    }
    inputs = jnp.asarray(rng.normal(size=(64, 32)), jnp.float32)
    targets = jnp.asarray(rng.normal(size=(64, 1)), jnp.float32)
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


def sweep_overrides(jobs: int) -> list[list[str]]:
    """A grid of ``jobs`` configs: 4 schedules x 5 learning rates x 5 run lengths."""
    grid = itertools.product(
        ("cosine", "linear", "exponential", "constant"),
        (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
        (1_000, 2_000, 5_000, 10_000, 20_000),
    )
    return [
        [
            f"scheduler={name}",
            f"scheduler.lr={lr}",
            f"scheduler.decay_steps={decay_steps}",
            f"scheduler.warmup_steps={decay_steps // 100}",
            f"scheduler.end_lr_factor={END_LR_FACTOR}",
        ]
        for name, lr, decay_steps in itertools.islice(grid, jobs)
    ]


def bench_sweep(jobs: int) -> dict[str, float]:
    """Per job of a sweep through Hydra's compose API: compose, then instantiate the schedule.

    Each job also composes an empty config in the same app, the floor that Hydra itself
    costs, so the scheduler group's share can be read off.
    """
    compose_ms, instantiate_ms, bare_ms = [], [], []
    with tempfile.TemporaryDirectory() as config_dir:
        Path(config_dir, "config.yaml").write_text("defaults:\n  - scheduler: cosine\n  - _self_\n")
        Path(config_dir, "bare.yaml").write_text("{}\n")
        with hydra.initialize_config_dir(config_dir=config_dir, version_base=None):
            for overrides in sweep_overrides(jobs):
                start = time.perf_counter()
                hydra.compose(config_name="bare")
                bare = time.perf_counter()
                config = hydra.compose(config_name="config", overrides=overrides)
                composed = time.perf_counter()
                instantiate(config.scheduler)
                done = time.perf_counter()
                bare_ms.append((bare - start) * 1e3)
                compose_ms.append((composed - bare) * 1e3)
                instantiate_ms.append((done - composed) * 1e3)
    return {
        "jobs": jobs,
        "compose_ms_median": statistics.median(compose_ms),
        "instantiate_ms_median": statistics.median(instantiate_ms),
        "ms_per_job": (sum(compose_ms) + sum(instantiate_ms)) / jobs,
        "bare_compose_ms_median": statistics.median(bare_ms),
    }


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


def verdicts(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """Each target of issue 7: what it asks, what was measured, whether it is met."""
    startup, host = results["startup"], results["host_eval"]
    vector, train = results["jit_vectorized"], results["train_step"]
    return [
        (
            "plugin start-up overhead <= 15 ms and <= 5%",
            f"{startup['overhead_ms']:+.1f} ms ({(startup['ratio'] - 1) * 100:+.1f}%)",
            startup["overhead_ms"] <= 15 and startup["ratio"] <= 1.05,
        ),
        (
            "host evaluation >= 50x faster than optax, <= 20 us",
            f"{host['speedup']:.0f}x, {host['ours_us_per_call']:.2f} us",
            host["speedup"] >= 50 and host["ours_us_per_call"] <= 20,
        ),
        (
            f"jit 1M steps: ratio <= 1.0 (noise {RATIO_NOISE:.0%})",
            f"{vector['ratio']:.3f}",
            vector["ratio"] <= 1 + RATIO_NOISE,
        ),
        (
            "compiled HLO instructions <= optax",
            f"{vector['ours_hlo_instructions']} vs {vector['optax_hlo_instructions']}",
            vector["ours_hlo_instructions"] <= vector["optax_hlo_instructions"],
        ),
        (
            "train step, schedule / constant LR <= 1.02",
            f"{train['ratio']:.3f}",
            train["ratio"] <= 1.02,
        ),
    ]


def composed_verdicts(composed: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each performance target of issue 11: what it asks, what was measured, whether met."""
    ms = {
        name.removesuffix("_ms"): value for name, value in composed.items() if name.endswith("_ms")
    }
    hlo = {
        name.removesuffix("_hlo_instructions"): value
        for name, value in composed.items()
        if name.endswith("_hlo_instructions")
    }
    return [
        (
            "jit, 100 cycles within 1.5x of 1 cycle",
            f"{ms['cycles_100'] / ms['cycles_1']:.2f}x",
            ms["cycles_100"] <= 1.5 * ms["cycles_1"],
        ),
        (
            "jit, 100 cycles faster than optax.sgdr_schedule (100 pieces)",
            f"{ms['optax_sgdr_100'] / ms['cycles_100']:.0f}x faster",
            ms["cycles_100"] < ms["optax_sgdr_100"],
        ),
        (
            "HLO, 100 cycles fewer instructions than optax.sgdr_schedule",
            f"{hlo['cycles_100']} vs {hlo['optax_sgdr_100']}",
            hlo["cycles_100"] < hlo["optax_sgdr_100"],
        ),
        (
            "HLO, 100 cycles <= 1.5x 1 cycle + a small constant (32)",
            f"{hlo['cycles_100']} vs {hlo['cycles_1']}",
            hlo["cycles_100"] <= 1.5 * hlo["cycles_1"] + 32,
        ),
        (
            f"jit, multistep (100) / piecewise_constant <= 1.0 (noise {RATIO_NOISE:.0%})",
            f"{ms['multistep_100'] / ms['optax_piecewise_100']:.3f}",
            ms["multistep_100"] <= (1 + RATIO_NOISE) * ms["optax_piecewise_100"],
        ),
        (
            "HLO, 100 stages <= about 2x 3 stages",
            f"{hlo['stages_100']} vs {hlo['stages_3']}",
            hlo["stages_100"] <= 2 * hlo["stages_3"],
        ),
        (
            "host, 100 cycles <= 3 us per call",
            f"{composed['cycles_100_host_us_per_call']:.2f} us",
            composed["cycles_100_host_us_per_call"] <= 3,
        ),
        (
            "host, 100 stages <= 5 us per call",
            f"{composed['stages_100_host_us_per_call']:.2f} us",
            composed["stages_100_host_us_per_call"] <= 5,
        ),
    ]


def print_composed(composed: dict[str, Any], smoke: bool) -> None:
    """The composed schedules' figures (issue 11), then (full run only) their verdicts."""
    print(f"\ncomposed schedules, {composed['steps']:,} steps under jit:")
    print(f"  {'schedule':22}  {'ms':>9}  {'HLO':>5}  {'host us/call':>12}")
    for name in (
        "cycles_1",
        "cycles_100",
        "optax_sgdr_100",
        "multistep_100",
        "optax_piecewise_100",
        "stages_3",
        "stages_100",
    ):
        host = composed.get(f"{name}_host_us_per_call")
        print(
            f"  {name:22}  {composed[f'{name}_ms']:9.3f}  "
            f"{composed[f'{name}_hlo_instructions']:5d}  {'' if host is None else f'{host:12.2f}'}"
        )
    if smoke:
        return
    print()
    for target, measured, met in composed_verdicts(composed):
        print(f"{'met   ' if met else 'MISSED'}  {target}: {measured}")


def print_table(results: dict[str, dict[str, Any]], smoke: bool) -> None:
    """The figures side by side, then (full run only) the verdicts."""
    startup, host, vector = results["startup"], results["host_eval"], results["jit_vectorized"]
    train, sweep = results["train_step"], results["sweep"]
    rows = [
        ("measurement", "this project", "baseline", "ratio"),
        (
            f"Hydra app start-up, ms (median of {startup['runs_per_arm']})",
            f"{startup['with_plugin_ms']:.1f}",
            f"{startup['without_plugin_ms']:.1f} (plugin hidden)",
            f"{startup['ratio']:.3f}",
        ),
        (
            "  plugin's overhead, ms: wall / CPU",
            f"{startup['overhead_ms']:+.1f} / {startup['cpu_overhead_ms']:+.1f}",
            "",
            "",
        ),
        (
            "host float(schedule(step)), us/call",
            f"{host['ours_us_per_call']:.2f}",
            f"{host['optax_us_per_call']:.1f} (optax, eager)",
            f"{host['speedup']:.0f}x faster",
        ),
        (
            "",
            "",
            f"{host['optax_jit_us_per_call']:.1f} (optax, jax.jit)",
            f"{host['speedup_vs_optax_jit']:.0f}x faster",
        ),
        (
            f"jit eval of {vector['steps']:,} steps, ms",
            f"{vector['ours_ms']:.3f}",
            f"{vector['optax_ms']:.3f} (optax)",
            f"{vector['ratio']:.3f}",
        ),
        (
            "  compiled HLO instructions",
            f"{vector['ours_hlo_instructions']}",
            f"{vector['optax_hlo_instructions']} (optax)",
            "",
        ),
        (
            "  StableHLO ops before XLA",
            f"{vector['ours_stablehlo_ops']}",
            f"{vector['optax_stablehlo_ops']} (optax)",
            "",
        ),
        (
            "train step (MLP, adamw), us/step",
            f"{train['schedule_us_per_step']:.1f}",
            f"{train['constant_us_per_step']:.1f} (constant float LR)",
            f"{train['ratio']:.3f}",
        ),
        (
            "",
            "",
            f"{train['constant_schedule_us_per_step']:.1f} (optax.constant_schedule)",
            f"{train['ratio_vs_constant_schedule']:.3f}",
        ),
        (
            "",
            "",
            f"{train['optax_join_us_per_step']:.1f} (optax join, vs float LR)",
            f"{train['optax_join_ratio']:.3f}",
        ),
        (
            f"sweep of {sweep['jobs']}: compose + instantiate, ms/job",
            f"{sweep['ms_per_job']:.2f}",
            "",
            "",
        ),
        (
            "  median compose, ms",
            f"{sweep['compose_ms_median']:.2f}",
            f"{sweep['bare_compose_ms_median']:.2f} (empty config)",
            f"{sweep['compose_ms_median'] / sweep['bare_compose_ms_median']:.3f}",
        ),
        (
            "  median instantiate, ms",
            f"{sweep['instantiate_ms_median']:.3f}",
            "",
            "",
        ),
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if smoke:
        print("\nsmoke run: tiny sizes, no verdicts")
        return
    print()
    for target, measured, met in verdicts(results):
        print(f"{'met   ' if met else 'MISSED'}  {target}: {measured}")


def main() -> None:
    """Run every measurement, print the table and write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI; no verdicts")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).with_name("results.json"),
        help="where to write the JSON figures (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        choices=["composed"],
        help="run only this section (the composed schedules of issue 11)",
    )
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    started = time.perf_counter()
    if args.only:
        results: dict[str, Any] = {"composed": bench_composed(sizes)}
    else:
        results = {
            # First, while this process is still idle: the app starts in subprocesses.
            "startup": bench_startup(sizes.startup_runs),
            "host_eval": bench_host_eval(sizes),
            "jit_vectorized": bench_jit(sizes),
            "train_step": bench_train_step(sizes),
            "sweep": bench_sweep(sizes.sweep_jobs),
            "composed": bench_composed(sizes),
        }
    results["meta"] = {
        **machine(),
        "smoke": args.smoke,
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "seconds": time.perf_counter() - started,
    }
    if not args.only:
        print_table(results, smoke=args.smoke)
    print_composed(results["composed"], smoke=args.smoke)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['meta']['seconds']:.0f} s; figures written to {args.output}")


if __name__ == "__main__":
    main()
