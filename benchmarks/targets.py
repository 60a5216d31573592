"""The targets that a full benchmark run checks its figures against (issues 7, 11, 18, 20), as data.

Each target is one verdict line: what it asks, as printed, and the conditions on the JSON's
figures that it needs, all of them. A condition compares a figure with a number, or with a
multiple of another figure plus a constant. ``BENCHMARKS.md`` states every target in its
"Targets" table, one row per target, which ``python benchmarks/targets.py`` prints and
``tests/integration/test_benchmark_targets.py`` checks against this module, row for row.

This module imports nothing but the standard library: the test reads it without JAX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Comparison = Literal["<=", "<", ">="]

#: Allowance for noise in a timing ratio: within it, "no slower". The same jitted function
#: timed against itself this way stays within 0.5%.
RATIO_NOISE = 0.01


@dataclass(frozen=True)
class Condition:
    """``figure comparison bound``, or ``figure comparison bound * reference + plus``.

    Figures are named ``section.key``, as in the JSON the benchmark writes.
    """

    figure: str
    comparison: Comparison
    bound: float
    reference: str | None = None
    plus: float = 0

    def figures(self) -> tuple[str, ...]:
        """The figures this condition reads."""
        return (self.figure,) if self.reference is None else (self.figure, self.reference)

    def limit(self, results: Mapping[str, Mapping[str, float]]) -> float:
        """What ``figure`` is compared with, in these results."""
        if self.reference is None:
            return self.bound
        limit = self.bound * figure(results, self.reference)
        return limit + self.plus if self.plus else limit

    def holds(self, results: Mapping[str, Mapping[str, float]]) -> bool:
        """Whether these results meet the condition."""
        value, limit = figure(results, self.figure), self.limit(results)
        if self.comparison == "<=":
            return value <= limit
        if self.comparison == "<":
            return value < limit
        return value >= limit

    def text(self) -> str:
        """The condition as an expression: ``composed.cycles_100_ms <= 1.5 * composed...``."""
        if self.reference is None:
            bound = repr(self.bound)
        else:
            bound = self.reference if self.bound == 1 else f"{self.bound!r} * {self.reference}"
            if self.plus:
                bound += f" + {self.plus!r}"
        return f"{self.figure} {self.comparison} {bound}"


@dataclass(frozen=True)
class Target:
    """One target: met when all its conditions hold."""

    key: str
    issue: int
    description: str  # as the verdict line prints it
    conditions: tuple[Condition, ...]

    def figures(self) -> tuple[str, ...]:
        """The figures this target reads, each once, in order."""
        return tuple(dict.fromkeys(name for c in self.conditions for name in c.figures()))

    def met(self, results: Mapping[str, Mapping[str, float]]) -> bool:
        """Whether these results meet every condition."""
        return all(condition.holds(results) for condition in self.conditions)

    def condition_text(self) -> str:
        """The conditions as one expression, joined by ``and``."""
        return " and ".join(condition.text() for condition in self.conditions)


def figure(results: Mapping[str, Mapping[str, float]], name: str) -> float:
    """The figure ``section.key`` of a run's results."""
    section, key = name.split(".", 1)
    return results[section][key]


TARGETS: tuple[Target, ...] = (
    # Issue 7: this project against optax and a bare Hydra app, one schedule.
    Target(
        "startup_overhead",
        7,
        "plugin start-up overhead <= 15 ms and <= 5%",
        (Condition("startup.overhead_ms", "<=", 15), Condition("startup.ratio", "<=", 1.05)),
    ),
    Target(
        "host_eval",
        7,
        "host evaluation >= 50x faster than optax, <= 20 us",
        (
            Condition("host_eval.speedup", ">=", 50),
            Condition("host_eval.ours_us_per_call", "<=", 20),
        ),
    ),
    Target(
        "jit_ratio",
        7,
        f"jit 1M steps: ratio <= 1.0 (noise {RATIO_NOISE:.0%})",
        (Condition("jit_vectorized.ratio", "<=", 1 + RATIO_NOISE),),
    ),
    Target(
        "jit_hlo",
        7,
        "compiled HLO instructions <= optax",
        (
            Condition(
                "jit_vectorized.ours_hlo_instructions",
                "<=",
                1,
                reference="jit_vectorized.optax_hlo_instructions",
            ),
        ),
    ),
    Target(
        "train_step_ratio",
        7,
        "train step, schedule / constant LR <= 1.02",
        (Condition("train_step.ratio", "<=", 1.02),),
    ),
    # Issue 11: composed schedules, against a plain one and optax's equivalents.
    Target(
        "cycles_jit",
        11,
        "jit, 100 cycles within 1.5x of 1 cycle",
        (Condition("composed.cycles_100_ms", "<=", 1.5, reference="composed.cycles_1_ms"),),
    ),
    Target(
        "cycles_jit_vs_sgdr",
        11,
        "jit, 100 cycles faster than optax.sgdr_schedule (100 pieces)",
        (Condition("composed.cycles_100_ms", "<", 1, reference="composed.optax_sgdr_100_ms"),),
    ),
    Target(
        "cycles_hlo_vs_sgdr",
        11,
        "HLO, 100 cycles fewer instructions than optax.sgdr_schedule",
        (
            Condition(
                "composed.cycles_100_hlo_instructions",
                "<",
                1,
                reference="composed.optax_sgdr_100_hlo_instructions",
            ),
        ),
    ),
    Target(
        "cycles_hlo",
        11,
        "HLO, 100 cycles <= 1.5x 1 cycle + a small constant (32)",
        (
            Condition(
                "composed.cycles_100_hlo_instructions",
                "<=",
                1.5,
                reference="composed.cycles_1_hlo_instructions",
                plus=32,
            ),
        ),
    ),
    Target(
        "multistep_jit_vs_piecewise",
        11,
        f"jit, multistep (100) / piecewise_constant <= 1.0 (noise {RATIO_NOISE:.0%})",
        (
            Condition(
                "composed.multistep_100_ms",
                "<=",
                1 + RATIO_NOISE,
                reference="composed.optax_piecewise_100_ms",
            ),
        ),
    ),
    Target(
        "stages_hlo",
        11,
        "HLO, 100 stages <= about 2x 3 stages",
        (
            Condition(
                "composed.stages_100_hlo_instructions",
                "<=",
                2,
                reference="composed.stages_3_hlo_instructions",
            ),
        ),
    ),
    Target(
        "cycles_host",
        11,
        "host, 100 cycles <= 3 us per call",
        (Condition("composed.cycles_100_host_us_per_call", "<=", 3),),
    ),
    Target(
        "stages_host",
        11,
        "host, 100 stages <= 5 us per call",
        (Condition("composed.stages_100_host_us_per_call", "<=", 5),),
    ),
    # Issue 18: the optimizer from config against the same optimizer written with optax.
    Target(
        "optimizer_step_ratio",
        18,
        "train step, 3 groups + frozen backbone: config / hand-written optax <= 1.1",
        (Condition("optimizer.ratio", "<=", 1.1),),
    ),
    Target(
        "optimizer_state",
        18,
        "optimizer state <= hand-written + 64 bytes (scalars), < one adamw over all",
        (
            Condition(
                "optimizer.state_bytes",
                "<=",
                1,
                reference="optimizer.handwritten_state_bytes",
                plus=64,
            ),
            Condition("optimizer.state_bytes", "<", 1, reference="optimizer.one_adamw_state_bytes"),
        ),
    ),
    Target(
        "optimizer_logging",
        18,
        "train step returning applied_hyperparams / without <= 1.05",
        (Condition("optimizer.logging_ratio", "<=", 1.05),),
    ),
    # Issue 20: a schedule counted in samples under a batch-size ramp, against steps.
    Target(
        "units_step_ratio",
        20,
        "train step, counted in samples with a 100- or 10000-point ramp / in steps <= 1.1",
        (
            Condition("units.train_step_ramp_100_ratio", "<=", 1.1),
            Condition("units.train_step_ramp_10000_ratio", "<=", 1.1),
        ),
    ),
    Target(
        "units_jit",
        20,
        "jit over all steps, 100- and 10000-point ramps / in steps <= 2 (a gather per step)",
        (
            Condition("units.vector_ramp_100_ratio", "<=", 2),
            Condition("units.vector_ramp_10000_ratio", "<=", 2),
        ),
    ),
    Target(
        "units_hlo",
        20,
        "HLO, any ramp <= in steps + 96 (a constant: not the points)",
        (Condition("units.hlo_ramp_most", "<=", 1, reference="units.hlo_steps", plus=96),),
    ),
)

#: The columns of BENCHMARKS.md's "Targets" table.
TABLE_HEADER = ("key", "issue", "verdict line", "met when")


def table_row(target: Target) -> tuple[str, str, str, str]:
    """A target's row of BENCHMARKS.md's "Targets" table, cell by cell."""
    return (
        f"`{target.key}`",
        str(target.issue),
        target.description,
        f"`{target.condition_text()}`",
    )


def markdown_table() -> str:
    """BENCHMARKS.md's "Targets" table, as this module states the targets."""
    rows = [TABLE_HEADER, tuple("---" for _ in TABLE_HEADER), *map(table_row, TARGETS)]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


if __name__ == "__main__":
    print(markdown_table())
