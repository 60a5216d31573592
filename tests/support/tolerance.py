"""How far each evaluation path may be from the float64 reference, and why.

Host and NumPy evaluation differ from ``reference.reference_lr`` by float64 rounding only.
JAX evaluates in float32 (unless x64 is enabled): besides a few float32 ulps of the largest
learning rate, the phase-local step itself is rounded to float32, which matters on long runs
and on steep curves (a polynomial of power < 1 near its end).
"""

from __future__ import annotations

import math

import numpy as np

from .reference import FAMILIES, WSD_DEFAULT_COOLDOWN_FRACTION, end_value, reference_lr
from .reference import resolve_lengths as resolve

DECAYING = ("linear", "cosine", "exponential", "polynomial")
FLOAT32_EPS = float(np.finfo(np.float32).eps)
# Host: relative 1e-12, and near zero (a + (b - a) * x cancels) a few float64 ulps of the peak.
HOST_RTOL, HOST_ATOL_PER_PEAK = 1e-12, 1e-14


def lengths(case):
    """``(D, W, C)`` as the spec resolves them, the wsd family's default cooldown included."""
    D = case.get("decay_steps") or None  # 0 is "not given", like None
    if D is None:
        return None, case.get("warmup_steps", 0), 0
    cooldown_steps = case.get("cooldown_steps", 0)
    cooldown_fraction = case.get("cooldown_fraction")
    if FAMILIES[case["name"]] == "wsd" and cooldown_steps == 0 and cooldown_fraction is None:
        cooldown_fraction = WSD_DEFAULT_COOLDOWN_FRACTION
    W, C = resolve(
        D,
        case.get("warmup_steps", 0),
        cooldown_steps,
        case.get("warmup_fraction"),
        cooldown_fraction,
    )
    return D, W, C


def named_lrs(case, steps):
    """The learning rates a schedule moves between: S, lr, E, Lc, and what inverse_sqrt
    reaches (at the cooldown, or at the furthest step evaluated if the run is open-ended)."""
    D, W, C = lengths(case)
    family = FAMILIES[case["name"]]
    lr = case["lr"]
    lrs = [lr]
    if W > 0:
        lrs.append(case.get("warmup_start_lr", 0.0))
    if family in DECAYING:
        lrs.append(end_value(lr, case.get("end_lr"), case.get("end_lr_factor")))
    if family == "inverse_sqrt":
        tau = case.get("timescale", 10000.0)
        t = max(max(steps) - W, 0) if D is None else D - C - W
        lrs.append(lr * math.sqrt(tau / (tau + t)))
    if C > 0:
        lrs.append(case.get("cooldown_lr", 0.0))
    return lrs


def host_tolerance(case, steps):
    return {"rtol": HOST_RTOL, "atol": HOST_ATOL_PER_PEAK * max(named_lrs(case, steps))}


def local_step(step, D, W, C):
    """Steps since the start of the phase ``step`` is in; 0 from ``D`` on (the value is held)."""
    step = max(step, 0)
    if step < W:
        return step
    if D is None or step < D - C:
        return step - W
    return 0 if step >= D else step - (D - C)


def phase_range(step, D, W, C):
    """``(first, last)``: the steps of the phase ``step`` is in, its end included."""
    step = max(step, 0)
    if step < W:
        return 0, W
    if D is None:
        return W, math.inf
    if step < D - C:
        return W, D - C
    return (D - C, D) if step <= D else (step, step)


def float32_tolerance(case, steps):
    """What float32 allows at each step: a few float32 ulps of the largest LR, plus how far the
    value moves when the phase's local step is off by its float32 rounding (a long run's steps
    are not all float32 numbers, and near its end a polynomial of power < 1 is steep). The
    local step is rounded within its own phase, and clamped to it: a step rounded past its
    phase's end is the phase's end value, never the next phase's."""
    D, W, C = lengths(case)
    floor = 8 * FLOAT32_EPS * max(named_lrs(case, steps))
    tolerance = []
    for step in steps:
        local = local_step(step, D, W, C)
        off = 4 * FLOAT32_EPS * local if math.isfinite(local) else 0.0
        first, last = phase_range(step, D, W, C)
        at = reference_lr(step, **case)
        moved = max(
            abs(reference_lr(min(max(step + d, first), last), **case) - at) for d in (-off, off)
        )
        tolerance.append(floor + moved)
    return np.array(tolerance)
