"""The spec's formulas, written out independently in float64 (Python floats and ``math``).

Tests compare the package against these, never against its own output. Each branch is a
row of the tables in ``schedule-semantics.md`` (reproduced in the README).
"""

from __future__ import annotations

import math

FAMILIES = {
    "constant": "constant",
    "linear": "linear",
    "cosine": "cosine",
    "cosine_decay": "cosine",
    "exponential": "exponential",
    "exponential_decay": "exponential",
}


def end_value(lr, end_lr=None, end_lr_factor=None):
    """E: end_lr, else end_lr_factor * lr, else 0."""
    if end_lr is not None:
        return end_lr
    if end_lr_factor is not None:
        return end_lr_factor * lr
    return 0.0


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
):
    """The learning rate at ``step``, straight from the spec."""
    family = FAMILIES[name]
    D, W, C, Lc = decay_steps, warmup_steps, cooldown_steps, cooldown_lr
    E = end_value(lr, end_lr, end_lr_factor)
    P = lr if family == "constant" else E
    s = max(step, 0)

    if s < W:
        return lr * s / W
    if D is None:  # only a constant schedule without cooldown may leave the length open
        return lr
    if s < D - C:
        t, M = s - W, D - W - C
        if family == "constant":
            return lr
        if family == "linear":
            return lr + (E - lr) * t / M
        if family == "cosine":
            return E + (lr - E) * (1 + math.cos(math.pi * t / M)) / 2
        if family == "exponential":
            return lr * (E / lr) ** (t / M)
    if C > 0 and s <= D:
        u = s - (D - C)
        return P + (Lc - P) * u / C
    # s > D, or s == D without a cooldown
    return Lc if C > 0 else P
