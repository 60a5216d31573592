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
   3, under ``jax.jit`` over 1M steps and on the host;
7. the optimizer from config (issue 18): a train step with 3 parameter groups and a frozen
   backbone vs the same optimizer written with optax, their states' sizes, and the cost of
   returning ``applied_hyperparams`` from the step.

Usage::

    python benchmarks/run.py                 # full run (about a minute on 2 cores)
    python benchmarks/run.py --smoke         # tiny sizes, a few seconds: for CI, no verdicts
    python benchmarks/run.py --output PATH   # JSON destination (default benchmarks/results.json)
    python benchmarks/run.py --only composed # the composed schedules alone
    python benchmarks/run.py --only optimizer # the optimizer from config alone

It prints a table and writes the figures as JSON. Verdicts against the targets of issues 7
and 11 (``benchmarks/targets.py``) are printed for the full run only; nothing here fails on a
timing. This file is the command line; each section is a module of ``benchmarks/sections/``,
and ``report.py`` and ``verdicts.py`` print the figures and the verdicts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import print_composed, print_optimizer, print_table, print_units
from sections.common import FULL, SMOKE, Sizes, machine
from sections.composed import bench_composed
from sections.host_eval import bench_host_eval
from sections.jit import bench_jit
from sections.optimizer import bench_optimizer
from sections.startup import bench_startup
from sections.sweep import bench_sweep
from sections.train_step import bench_train_step
from sections.units import bench_units

#: Every section of the JSON, in the order a full run measures them (the start-up first, while
#: this process is still idle: the app starts in subprocesses). The tests read the names here.
SECTIONS: dict[str, Callable[[Sizes], dict[str, float]]] = {
    "startup": lambda sizes: bench_startup(sizes.startup_runs),
    "host_eval": bench_host_eval,
    "jit_vectorized": bench_jit,
    "train_step": bench_train_step,
    "sweep": lambda sizes: bench_sweep(sizes.sweep_jobs),
    "composed": bench_composed,
    "optimizer": bench_optimizer,
    "units": bench_units,
}
#: The sections ``--only`` runs alone.
ALONE = ("composed", "optimizer", "units")


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
        choices=ALONE,
        help="run only this section (issue 11's composed schedules, issue 18's optimizer, "
        "issue 20's units)",
    )
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    started = time.perf_counter()
    names = [args.only] if args.only else list(SECTIONS)
    results: dict[str, Any] = {name: SECTIONS[name](sizes) for name in names}
    results["meta"] = {
        **machine(),
        "smoke": args.smoke,
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "seconds": time.perf_counter() - started,
    }
    if not args.only:
        print_table(results, smoke=args.smoke)
    if "composed" in results:
        print_composed(results["composed"], smoke=args.smoke)
    if "optimizer" in results:
        print_optimizer(results["optimizer"], smoke=args.smoke)
    if "units" in results:
        print_units(results["units"], smoke=args.smoke)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['meta']['seconds']:.0f} s; figures written to {args.output}")


if __name__ == "__main__":
    main()
