"""Every formula of a schedule, written once over an array namespace.

``xp`` is :data:`HOST` (``math`` functions on Python floats: logging, plots), ``numpy`` for
NumPy arrays, or ``jax.numpy`` inside ``jit``. The same code computes a step's learning rate in
all three, so the paths cannot drift apart.

A schedule is a sequence of :class:`Phase` objects. A phase runs for ``length`` steps from
step ``start`` and moves from ``start_value`` (``a``) to ``end_value`` (``b``) along a
``curve``; with ``x = t / length`` the progress through the phase at local step ``t``:

==============  ============================================================
curve           value at progress ``x`` in ``[0, 1]`` (local step ``t``)
==============  ============================================================
constant        ``a``
linear          ``a + (b - a) * x``
cosine          ``a + (b - a) * (1 - cos(pi * x)) / 2``
sqrt            ``a + (b - a) * sqrt(x)``
polynomial      ``b + (a - b) * (1 - x) ** power``
exponential     ``a * (b / a) ** x``  (continuous, not staircase)
inverse_sqrt    ``a * sqrt(tau / (tau + t))``  (``b`` is its value at ``t = length``)
==============  ============================================================

The cosine row is the familiar ``b + (a - b) * (1 + cos(pi * x)) / 2`` rearranged, and the
sqrt row is the 1-sqrt cooldown ``b + (a - b) * (1 - sqrt(x))``. ``param`` holds ``power``
or ``tau``. A phase whose ``length`` is ``None`` never ends (a constant or inverse-sqrt main
phase when the run length is left open).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["CURVES", "HOST", "Phase"]

#: The array namespace of host evaluation: what the formulas use, for Python floats.
HOST = SimpleNamespace(
    cos=math.cos,
    sqrt=math.sqrt,
    exp=math.exp,
    minimum=min,
    where=lambda condition, if_true, if_false: if_true if condition else if_false,
)

CURVES = ("constant", "linear", "cosine", "sqrt", "polynomial", "exponential", "inverse_sqrt")


@dataclass(frozen=True)
class Phase:
    """One phase of a schedule.

    Attributes:
        name: ``"warmup"``, ``"main"`` or ``"cooldown"``, for summaries and messages.
        start: First step of the phase.
        length: Number of steps, or ``None`` for a constant phase that never ends.
        curve: One of :data:`CURVES`.
        start_value: Learning rate at ``start``.
        end_value: Learning rate at ``start + length`` (where the next phase takes over).
        param: ``power`` of a polynomial curve, ``tau`` of an inverse-sqrt curve.
    """

    name: str
    start: int
    length: int | None
    curve: str
    start_value: float
    end_value: float
    param: float = 0.0

    @property
    def end(self) -> int | None:
        """The step where the next phase begins (``None`` if the phase never ends)."""
        return None if self.length is None else self.start + self.length

    def value(self, xp: Any, t: Any) -> Any:
        """The learning rate at local step ``t`` (``0 <= t <= length``), computed with ``xp``."""
        a, b = self.start_value, self.end_value
        if self.curve == "constant":
            return a
        if self.curve == "inverse_sqrt":
            return a * xp.sqrt(self.param / (self.param + t))
        length = float(self.length)  # a Python int past int32 would not convert under jit
        # The constants of linear and cosine are folded here, on the host (XLA does not
        # reassociate float products), and need no clamp: cos is even about pi, and a line
        # measured from its lower end never goes below it.
        if self.curve == "cosine":
            return a + (b - a) / 2 * (1 - xp.cos(t * (math.pi / length)))
        if self.curve == "linear":
            if a <= b:
                return a + t * ((b - a) / length)
            return b + (length - t) * ((a - b) / length)
        # XLA divides by a constant as a multiplication by its reciprocal, so t / length can
        # exceed 1 by an ulp; clamping keeps 1 - x >= 0 and every end value exact.
        x = xp.minimum(t / length, 1.0)
        if self.curve == "sqrt":
            return a + (b - a) * _zero_at_zero(xp, xp.sqrt, x)
        if self.curve == "polynomial":
            return b + (a - b) * _zero_at_zero(xp, lambda y: y**self.param, 1 - x)
        if self.curve == "exponential":
            return a * xp.exp(x * math.log(b / a))
        raise AssertionError(f"unknown curve {self.curve!r}")


def _zero_at_zero(xp: Any, function: Any, base: Any) -> Any:
    """``function(base)`` for ``base >= 0`` and a ``function`` that is 0 at 0 (``sqrt``,
    ``y ** p``), with a finite derivative everywhere.

    ``sqrt`` and ``y ** p`` for ``p < 1`` have an infinite slope at 0, and ``jax.grad``
    multiplies it by the zero slope of a clamped step (a phase not yet begun, or over):
    ``inf * 0 = nan``. Evaluating ``function`` away from 0 where 0 is selected keeps the
    derivative 0 there and the value exact.
    """
    positive = base > 0
    return xp.where(positive, function(xp.where(positive, base, 1.0)), 0.0)
