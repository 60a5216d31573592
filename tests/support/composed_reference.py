"""The composable-schedules spec (``composable-schedules.md``), written out independently.

Float64 formulas and exact rational boundaries, straight from the spec: restarts (cycles), a
branched cooldown (``cooldown_start``), step decay (``multistep``) and stages. Tests compare
the package against ``composed_lr``, never against its own output.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from .reference import FAMILIES, decimal, end_value, main_value, nearest, resolve_lengths

DECAYING = ("linear", "cosine", "exponential", "polynomial")


def ramp(shape, start, end, x):
    """A warmup (or rewarmup) from ``start`` to ``end`` at progress ``x``."""
    if shape == "linear":
        return start + (end - start) * x
    return start + (end - start) * (1 - math.cos(math.pi * x)) / 2


def stage_curve(shape, a, b, x, power):
    """The value of a stage's curve from ``a`` to ``b`` at progress ``x``."""
    if shape == "constant":
        return a
    if shape == "linear":
        return a + (b - a) * x
    if shape == "cosine":
        return b + (a - b) * (1 + math.cos(math.pi * x)) / 2
    if shape == "sqrt":
        return a + (b - a) * math.sqrt(x)
    if shape == "exponential":
        return a * (b / a) ** x
    if shape == "polynomial":
        return b + (a - b) * (1 - x) ** power
    raise ValueError(shape)


def cycle_starts(cycles, cycle_mult, M):
    """``b_i - W`` for ``i = 0..n``: ``floor(M * S_i / S_n + 1/2)``, with
    ``S_i = m^0 + ... + m^(i-1)``."""
    m = decimal(cycle_mult)
    sums = [sum((m**j for j in range(i)), Fraction(0)) for i in range(cycles + 1)]
    return [nearest(M * sums[i] / sums[cycles]) for i in range(cycles + 1)]


def rewarmup_length(i, T, rewarmup_steps, rewarmup_fraction):
    """``R_i``: 0 for the first cycle, else the steps, or the fraction of ``T_i`` rounded."""
    if i == 0:
        return 0
    if rewarmup_fraction is not None:
        return nearest(decimal(rewarmup_fraction) * T)
    return rewarmup_steps


def cooldown_curve(shape, P, Lc, x):
    """A cooldown from ``P`` to ``Lc`` at progress ``x`` in ``[0, 1]``."""
    if shape == "linear":
        return P + (Lc - P) * x
    if shape == "cosine":
        return Lc + (P - Lc) * (1 + math.cos(math.pi * x)) / 2
    return Lc + (P - Lc) * (1 - math.sqrt(x))


def wsd_restarts_parts(D, W, cycles, cycle_mult, cooldown_steps, cooldown_fraction, rewarmup):
    """WSD-S, as the spec words it: cycle ``i`` is ``[b_i, b_(i+1))`` of the whole run
    ``[0, D)``, ``b_i = floor(D * S_i / S_n + 1/2)``; it rises for ``W`` steps (cycle 0) or
    ``R_i`` (a rewarmup), and decays over its last ``C_i`` steps: ``cooldown_steps``, or
    ``L_i - floor(L_i * (1 - f) + 1/2)``. Returns ``(b_i, rise_i, C_i)`` for each cycle, or
    ``None`` if some cycle has no room for its rise and a decay of at least one step."""
    b = cycle_starts(cycles, cycle_mult, D)
    if any(b[i + 1] - b[i] < 1 for i in range(cycles)):
        return None
    f = 0.2 if cooldown_fraction is None and not cooldown_steps else cooldown_fraction
    parts = []
    for i in range(cycles):
        L = b[i + 1] - b[i]
        C = cooldown_steps if cooldown_steps else L - nearest((1 - decimal(f)) * L)
        rise = W if i == 0 else rewarmup(i, L)
        if C < 1 or rise + C > L:
            return None
        parts.append((b[i], rise, C))
    return parts


def milestone_steps(milestones, milestone_fractions, D):
    if milestones is not None:
        return list(milestones)
    return [nearest(decimal(f) * D) for f in milestone_fractions]


def stage_lengths(stages, D, M):
    """Each stage's length: steps, or ``floor(fraction * D + 1/2)``, or the rest."""
    lengths = []
    for stage in stages:
        if stage.get("steps") is not None:
            lengths.append(stage["steps"])
        elif stage.get("fraction") is not None:
            lengths.append(nearest(decimal(stage["fraction"]) * D))
        else:
            lengths.append(M - sum(lengths))
    return lengths


def stage_values(stages, lr):
    """``(lr * start_j, lr * end_j)`` with the defaults: start is the previous end (1.0 first),
    end is the stage's start."""
    values, previous = [], 1.0
    for stage in stages:
        start = stage.get("start")
        start = previous if start is None else start
        end = stage.get("end")
        end = start if end is None else end
        values.append((lr * start, lr * end))
        previous = end
    return values


def composed_lr(
    step,
    *,
    lr,
    name="constant",
    decay_steps=None,
    warmup_steps=0,
    cooldown_steps=0,
    end_lr=None,
    end_lr_factor=None,
    cooldown_lr=0.0,
    warmup_start_lr=0.0,
    warmup_shape="linear",
    warmup_fraction=None,
    cooldown_shape=None,
    cooldown_fraction=None,
    power=2.0,
    timescale=10000.0,
    cooldown_start=None,
    cycles=1,
    cycle_mult=1.0,
    cycle_decay=1.0,
    rewarmup_steps=0,
    rewarmup_fraction=None,
    milestones=None,
    milestone_fractions=None,
    decay_factor=0.1,
    stages=None,
    cooldown_start_fraction=None,
):
    """The learning rate at ``step``, straight from the two specs."""
    family = FAMILIES.get(name, name)
    if cooldown_shape is None:
        cooldown_shape = "sqrt" if family == "wsd" else "linear"
    D = decay_steps or None
    if cooldown_start_fraction is not None:  # S = round(f * D), halves up
        cooldown_start = nearest(decimal(cooldown_start_fraction) * D)
    if family == "wsd" and cooldown_steps == 0 and cooldown_fraction is None:
        cooldown_fraction = 0.2
    W, C = resolve_lengths(D, warmup_steps, cooldown_steps, warmup_fraction, cooldown_fraction)
    E = end_value(lr, end_lr, end_lr_factor)
    Lc = cooldown_lr
    s = max(step, 0)
    if s < W:
        return ramp(warmup_shape, warmup_start_lr, lr, s / W)
    if family == "wsd" and cycles > 1:  # WSD-S
        if s >= D:
            return Lc
        parts = wsd_restarts_parts(
            D,
            W,
            cycles,
            cycle_mult,
            cooldown_steps,
            cooldown_fraction,
            lambda i, L: rewarmup_length(i, L, rewarmup_steps, rewarmup_fraction),
        )
        i = max(k for k in range(cycles) if parts[k][0] <= s)
        first, rise, C = parts[i]
        end = parts[i + 1][0] if i + 1 < cycles else D
        peak = lr * cycle_decay**i
        if i > 0 and s < first + rise:
            return ramp(warmup_shape, Lc, peak, (s - first) / rise)
        if s < end - C:
            return peak
        return cooldown_curve(cooldown_shape, peak, Lc, (s - (end - C)) / C)

    # The main phase, with no cooldown: over [W, W + M) (M = None: as long as it goes).
    M = None if D is None else D - W - (0 if cooldown_start is not None else C)

    def main(t):
        """The main phase's value at local step t >= 0; past its end, its final value."""
        if family in DECAYING:
            if t >= M:
                return E
            starts = cycle_starts(cycles, cycle_mult, M)
            i = max(k for k in range(cycles) if starts[k] <= t)
            T = starts[i + 1] - starts[i]
            R = rewarmup_length(i, T, rewarmup_steps, rewarmup_fraction)
            peak = lr * cycle_decay**i
            u = t - starts[i]
            if u < R:
                return ramp(warmup_shape, E, peak, u / R)
            return main_value(family, u - R, T - R, peak, E, power, timescale)
        if family == "inverse_sqrt":
            return main_value(family, t if M is None else min(t, M), M, lr, E, power, timescale)
        if family == "multistep":
            passed = sum(
                1 for m in milestone_steps(milestones, milestone_fractions, D) if m <= W + t
            )
            return lr * decay_factor**passed
        if family == "stages":
            lengths = stage_lengths(stages, D, M)
            values = stage_values(stages, lr)
            begin = 0
            for stage, L, (a, b) in zip(stages, lengths, values, strict=True):
                if t < begin + L:
                    shape = stage.get("shape", "linear")
                    return stage_curve(shape, a, b, (t - begin) / L, stage.get("power", 2.0))
                begin += L
            return values[-1][1]
        return lr  # constant, wsd

    cooldown_at = cooldown_start if cooldown_start is not None else (None if D is None else D - C)
    if C > 0 and s >= cooldown_at:
        P = main(cooldown_at - W)
        u = s - cooldown_at
        if u > C:
            return Lc
        if cooldown_shape == "linear":
            return P + (Lc - P) * u / C
        if cooldown_shape == "cosine":
            return Lc + (P - Lc) * (1 + math.cos(math.pi * u / C)) / 2
        return Lc + (P - Lc) * (1 - math.sqrt(u / C))
    return main(s - W)


def boundaries(case):
    """Every step where the spec starts a new piece of the main phase (cycles, rewarmups,
    milestones, stages), and the cooldown's start."""
    family = FAMILIES.get(case["name"], case["name"])
    D = case.get("decay_steps") or None
    cooldown_fraction = case.get("cooldown_fraction")
    if family == "wsd" and not case.get("cooldown_steps") and cooldown_fraction is None:
        cooldown_fraction = 0.2
    W, C = resolve_lengths(
        D,
        case.get("warmup_steps", 0),
        case.get("cooldown_steps", 0),
        case.get("warmup_fraction"),
        cooldown_fraction,
    )
    branch = case.get("cooldown_start")
    if case.get("cooldown_start_fraction") is not None:
        branch = nearest(decimal(case["cooldown_start_fraction"]) * D)
    branched = branch is not None
    M = None if D is None else D - W - (0 if branched else C)
    steps = set()
    if family in DECAYING:
        starts = cycle_starts(case.get("cycles", 1), case.get("cycle_mult", 1.0), M)
        for i, (first, after) in enumerate(itertools.pairwise(starts)):
            steps.add(W + first)
            R = rewarmup_length(
                i, after - first, case.get("rewarmup_steps", 0), case.get("rewarmup_fraction")
            )
            steps.add(W + first + R)
    if family == "multistep":
        steps |= set(milestone_steps(case.get("milestones"), case.get("milestone_fractions"), D))
    if family == "stages":
        begin = W
        for L in stage_lengths(case["stages"], D, M):
            steps.add(begin)
            begin += L
    if branched:  # the main phase's pieces after the branch point are never reached
        steps = {step for step in steps if step < branch}
    if C > 0:
        steps.add(branch if branched else D - C)
    return sorted(steps)


def named_values(case):
    """Every learning rate the config names (or its curves reach at an end): the values a
    schedule must stay between."""
    family = FAMILIES.get(case["name"], case["name"])
    lr = case["lr"]
    values = [lr, case.get("warmup_start_lr", 0.0), case.get("cooldown_lr", 0.0)]
    if family in DECAYING:
        E = end_value(lr, case.get("end_lr"), case.get("end_lr_factor"))
        values += [E] + [
            lr * case.get("cycle_decay", 1.0) ** i for i in range(case.get("cycles", 1))
        ]
    if family == "inverse_sqrt":
        tau = case.get("timescale", 10000.0)
        values.append(lr * math.sqrt(tau / (tau + case["decay_steps"])))
    if family == "multistep":
        count = len(case.get("milestones") or case.get("milestone_fractions"))
        values += [lr * case.get("decay_factor", 0.1) ** k for k in range(count + 1)]
    if family == "stages":
        values += [value for pair in stage_values(case["stages"], lr) for value in pair]
    return values
