"""The spec's formulas, written out independently in float64 (Python floats and ``math``).

Tests compare the package against these, never against its own output. Each branch is a
row of the tables in ``schedule-semantics.md`` and issue 4 (reproduced in the README).
"""

from __future__ import annotations

import math
from fractions import Fraction

FAMILIES = {
    "constant": "constant",
    "linear": "linear",
    "cosine": "cosine",
    "cosine_decay": "cosine",
    "exponential": "exponential",
    "exponential_decay": "exponential",
    "polynomial": "polynomial",
    "inverse_sqrt": "inverse_sqrt",
    "wsd": "wsd",
}
OPEN_ENDED = ("constant", "inverse_sqrt", "wsd")  # main phase does not aim at E
WSD_DEFAULT_COOLDOWN_FRACTION = 0.2  # wsd given neither cooldown_steps nor cooldown_fraction


def end_value(lr, end_lr=None, end_lr_factor=None):
    """E: end_lr, else end_lr_factor * lr, else 0."""
    if end_lr is not None:
        return end_lr
    if end_lr_factor is not None:
        return end_lr_factor * lr
    return 0.0


def nearest(position):
    """The integer nearest an exact rational ``position``; halves round up."""
    return math.floor(position + Fraction(1, 2))


def decimal(fraction):
    """The decimal number the user wrote: ``0.35`` is 35/100, not the float nearest it."""
    return Fraction(str(fraction))


def resolve_lengths(
    decay_steps, warmup_steps=0, cooldown_steps=0, warmup_fraction=None, cooldown_fraction=None
):
    """(W, C): fractions put the warmup's end at round(wf * D), the cooldown's start at
    round((1 - cf) * D), halves rounding up, in exact rational arithmetic."""
    W, C = warmup_steps, cooldown_steps
    if warmup_fraction is not None:
        W = nearest(decimal(warmup_fraction) * decay_steps)
    if cooldown_fraction is not None:
        C = decay_steps - nearest((1 - decimal(cooldown_fraction)) * decay_steps)
    return W, C


def main_value(family, t, M, lr, E, power, timescale):
    if family in ("constant", "wsd"):
        return lr
    if family == "inverse_sqrt":
        return lr * math.sqrt(timescale / (timescale + t))
    if family == "linear":
        return lr + (E - lr) * t / M
    if family == "cosine":
        return E + (lr - E) * (1 + math.cos(math.pi * t / M)) / 2
    if family == "exponential":
        return lr * (E / lr) ** (t / M)
    if family == "polynomial":
        return E + (lr - E) * (1 - t / M) ** power
    raise ValueError(family)


def reference_lr(
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
):
    """The learning rate at ``step``, straight from the spec."""
    family = FAMILIES[name]
    if cooldown_shape is None:  # the family's: wsd's cooldown is 1-sqrt
        cooldown_shape = "sqrt" if family == "wsd" else "linear"
    if not decay_steps:  # 0 is "not given", like None
        decay_steps = None
    D, Lc, S = decay_steps, cooldown_lr, warmup_start_lr
    if family == "wsd" and cooldown_steps == 0 and cooldown_fraction is None:
        cooldown_fraction = WSD_DEFAULT_COOLDOWN_FRACTION
    W, C = resolve_lengths(D, warmup_steps, cooldown_steps, warmup_fraction, cooldown_fraction)
    E = end_value(lr, end_lr, end_lr_factor)
    s = max(step, 0)

    if s < W:
        if warmup_shape == "linear":
            return S + (lr - S) * s / W
        return S + (lr - S) * (1 - math.cos(math.pi * s / W)) / 2  # half-cosine ramp
    if D is None:  # an open-ended main phase (constant or inverse_sqrt, no cooldown)
        return main_value(family, s - W, None, lr, E, power, timescale)
    M = D - W - C
    if s < D - C:
        return main_value(family, s - W, M, lr, E, power, timescale)
    P = main_value(family, M, M, lr, E, power, timescale) if family in OPEN_ENDED else E
    if C > 0 and s <= D:
        u = s - (D - C)
        if cooldown_shape == "linear":
            return P + (Lc - P) * u / C
        if cooldown_shape == "cosine":
            return Lc + (P - Lc) * (1 + math.cos(math.pi * u / C)) / 2
        return Lc + (P - Lc) * (1 - math.sqrt(u / C))  # 1-sqrt
    # s > D, or s == D without a cooldown
    return Lc if C > 0 else P
