"""The printed report: the table of the first five sections, the composed schedules' table,
and (full run only) the verdicts against the targets of ``targets.py``."""

from __future__ import annotations

from typing import Any

from sections.composed import NAMES
from verdicts import print_verdicts


def print_composed(composed: dict[str, Any], smoke: bool) -> None:
    """The composed schedules' figures (issue 11), then (full run only) their verdicts."""
    print(f"\ncomposed schedules, {composed['steps']:,} steps under jit:")
    print(f"  {'schedule':22}  {'ms':>9}  {'HLO':>5}  {'host us/call':>12}")
    for name in NAMES:
        host = composed.get(f"{name}_host_us_per_call")
        print(
            f"  {name:22}  {composed[f'{name}_ms']:9.3f}  "
            f"{composed[f'{name}_hlo_instructions']:5d}  {'' if host is None else f'{host:12.2f}'}"
        )
    if smoke:
        return
    print()
    print_verdicts({"composed": composed}, issue=11)


def print_optimizer(optimizer: dict[str, Any], smoke: bool) -> None:
    """The optimizer from config against hand-written optax (issue 18), then its verdicts."""
    print("\noptimizer from config (3 groups, frozen backbone) vs hand-written optax:")
    rows = [
        ("train step, us/step", "config_us_per_step", "handwritten_us_per_step"),
        ("  returning applied_hyperparams", "config_logged_us_per_step", None),
        ("  ... stacked in one array", "config_logged_stacked_us_per_step", None),
    ]
    for label, ours, theirs in rows:
        baseline = "" if theirs is None else f"{optimizer[theirs]:10.1f} (hand-written)"
        print(f"  {label:34}  {optimizer[ours]:10.1f}  {baseline}")
    print(
        f"  {'optimizer state, bytes':34}  {optimizer['state_bytes']:10,d}  "
        f"{optimizer['handwritten_state_bytes']:10,d} (hand-written); "
        f"{optimizer['one_adamw_state_bytes']:,d} (one adamw over all)"
    )
    ours, theirs = (
        optimizer[f"{arm}_update_hlo_instructions"] for arm in ("config", "handwritten")
    )
    print(f"  {'update alone, HLO instructions':34}  {ours:10d}  {theirs:10d} (hand-written)")
    if smoke:
        return
    print()
    print_verdicts({"optimizer": optimizer}, issue=18)


def print_units(units: dict[str, Any], smoke: bool) -> None:
    """Counted in samples under a ramp vs in steps (issue 20), then its verdicts."""
    print("\nthe benchmarked cosine counted in samples (batch ramp, sqrt scaling) vs in steps:")
    for points in (100, 10_000):
        label = f"train step, {points}-point ramp, us/step"
        print(
            f"  {label:38}  {units[f'train_step_ramp_{points}_us']:10.1f}  "
            f"{units['train_step_steps_us']:10.1f} (in steps)  "
            f"x{units[f'train_step_ramp_{points}_ratio']:.3f}"
        )
    for arm in ("constant", "ramp_9", "ramp_100", "ramp_10000", "floor"):
        label = f"jit, all steps at once, {arm}, ms"
        print(
            f"  {label:38}  {units[f'vector_{arm}_ms']:10.2f}  "
            f"{units['vector_steps_ms']:10.2f} (in steps)  x{units[f'vector_{arm}_ratio']:.2f}"
        )
    for points in (9, 100, 10_000):
        even, crowded = units[f"hlo_ramp_{points}"], units[f"hlo_ramp_{points}_crowded"]
        label = f"HLO, {points} points: even / crowded"
        print(f"  {label:38}  {even:4d} / {crowded:4d}  {units['hlo_steps']:5d} (in steps)")
    if smoke:
        return
    print()
    print_verdicts({"units": units}, issue=20)


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
    print_verdicts(results, issue=7)
