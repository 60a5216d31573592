"""The verdicts of a full run: each target of ``targets.py``, what was measured, whether met.

The targets and their bounds are data (``targets.TARGETS``); this module only says how each
one's measured figures are shown. A target without a formatter here shows its figures as
``name = value``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from targets import TARGETS, Target, figure

Results = Mapping[str, Mapping[str, float]]


def _startup(r: Results) -> str:
    overhead, ratio = figure(r, "startup.overhead_ms"), figure(r, "startup.ratio")
    return f"{overhead:+.1f} ms ({(ratio - 1) * 100:+.1f}%)"


def _host_eval(r: Results) -> str:
    speedup, us = figure(r, "host_eval.speedup"), figure(r, "host_eval.ours_us_per_call")
    return f"{speedup:.0f}x, {us:.2f} us"


def _hlo_pair(ours: str, theirs: str) -> Callable[[Results], str]:
    return lambda r: f"{figure(r, ours)} vs {figure(r, theirs)}"


def _ms(r: Results, name: str) -> float:
    return figure(r, f"composed.{name}_ms")


def _hlo(name: str) -> str:
    return f"composed.{name}_hlo_instructions"


#: How each target's measured figures are printed, by key.
MEASURED: dict[str, Callable[[Results], str]] = {
    "startup_overhead": _startup,
    "host_eval": _host_eval,
    "jit_ratio": lambda r: f"{figure(r, 'jit_vectorized.ratio'):.3f}",
    "jit_hlo": _hlo_pair(
        "jit_vectorized.ours_hlo_instructions", "jit_vectorized.optax_hlo_instructions"
    ),
    "train_step_ratio": lambda r: f"{figure(r, 'train_step.ratio'):.3f}",
    "cycles_jit": lambda r: f"{_ms(r, 'cycles_100') / _ms(r, 'cycles_1'):.2f}x",
    "cycles_jit_vs_sgdr": (
        lambda r: f"{_ms(r, 'optax_sgdr_100') / _ms(r, 'cycles_100'):.0f}x faster"
    ),
    "cycles_hlo_vs_sgdr": _hlo_pair(_hlo("cycles_100"), _hlo("optax_sgdr_100")),
    "cycles_hlo": _hlo_pair(_hlo("cycles_100"), _hlo("cycles_1")),
    "multistep_jit_vs_piecewise": (
        lambda r: f"{_ms(r, 'multistep_100') / _ms(r, 'optax_piecewise_100'):.3f}"
    ),
    "stages_hlo": _hlo_pair(_hlo("stages_100"), _hlo("stages_3")),
    "cycles_host": lambda r: f"{figure(r, 'composed.cycles_100_host_us_per_call'):.2f} us",
    "stages_host": lambda r: f"{figure(r, 'composed.stages_100_host_us_per_call'):.2f} us",
    "optimizer_step_ratio": lambda r: f"{figure(r, 'optimizer.ratio'):.3f}",
    "optimizer_state": lambda r: (
        f"{figure(r, 'optimizer.state_bytes'):,.0f} vs "
        f"{figure(r, 'optimizer.handwritten_state_bytes'):,.0f} bytes "
        f"(one adamw: {figure(r, 'optimizer.one_adamw_state_bytes'):,.0f})"
    ),
    "optimizer_logging": lambda r: f"{figure(r, 'optimizer.logging_ratio'):.3f}",
}


def measured(target: Target, results: Results) -> str:
    """What was measured for ``target``, as its verdict line shows it."""
    show = MEASURED.get(target.key)
    if show is not None:
        return show(results)
    return ", ".join(f"{name} = {figure(results, name):g}" for name in target.figures())


def verdicts(results: Results, issue: int) -> list[tuple[str, str, bool]]:
    """Each target of ``issue``: what it asks, what was measured, whether it is met."""
    return [
        (target.description, measured(target, results), target.met(results))
        for target in TARGETS
        if target.issue == issue
    ]


def print_verdicts(results: Results, issue: int) -> None:
    """One line per target of ``issue``: met or MISSED, what it asks, what was measured."""
    for target, measured_text, met in verdicts(results, issue):
        print(f"{'met   ' if met else 'MISSED'}  {target}: {measured_text}")
