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

import bisect
import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["CURVES", "CURVE_COEFFICIENTS", "HOST", "Phase", "curve_value", "value_at"]

#: The array namespace of host evaluation: what the formulas use, for Python floats.
HOST = SimpleNamespace(
    cos=math.cos,
    sqrt=math.sqrt,
    exp=math.exp,
    minimum=min,
    where=lambda condition, if_true, if_false: if_true if condition else if_false,
)

CURVES = ("constant", "linear", "cosine", "sqrt", "polynomial", "exponential", "inverse_sqrt")


#: The coefficients each curve's formula reads (:func:`curve_value`); every phase has them all.
CURVE_COEFFICIENTS: dict[str, tuple[str, ...]] = {
    "constant": ("a",),
    "linear": ("base", "offset", "sign", "rate"),
    "cosine": ("a", "half", "omega"),
    "sqrt": ("a", "delta", "length"),
    "polynomial": ("b", "delta", "length", "param"),
    "exponential": ("a", "length", "log_ratio"),
    "inverse_sqrt": ("a", "param"),
}


@dataclass(frozen=True)
class Phase:
    """One phase of a schedule: a piece of a curve over a range of steps.

    Attributes:
        name: ``"warmup"``, ``"main"``, ``"cooldown"``, or the piece of a composed main
            phase (``"cycle 2"``, ``"rewarmup 2"``, ``"milestone 1"``, ``"stage 0"``,
            ``"hold"``), for summaries and messages.
        start: First step of the phase.
        length: Number of steps, or ``None`` for a phase that never ends.
        curve: One of :data:`CURVES`.
        start_value: Learning rate at ``start``.
        end_value: Learning rate at ``start + length`` (where the next phase takes over).
        param: ``power`` of a polynomial curve, ``tau`` of an inverse-sqrt curve.
        span: The length of the whole curve, if the phase is cut before the curve ends (a
            cooldown branched off the middle of a phase); ``None`` if it is ``length``.
        target: The value the whole curve ends at, if the phase is cut; ``None`` if it is
            ``end_value``.
    """

    name: str
    start: int
    length: int | None
    curve: str
    start_value: float
    end_value: float
    param: float = 0.0
    span: int | None = None
    target: float | None = None

    @property
    def end(self) -> int | None:
        """The step where the next phase begins (``None`` if the phase never ends)."""
        return None if self.length is None else self.start + self.length

    def value(self, xp: Any, t: Any) -> Any:
        """The learning rate at local step ``t`` (``0 <= t <= length``), computed with ``xp``."""
        return curve_value(xp, self.curve, t, self.coefficients)

    def cut(self, length: int) -> Phase:
        """This phase ended after ``length`` steps, its curve unchanged."""
        return dataclasses.replace(
            self,
            length=length,
            end_value=float(self.value(HOST, length)),
            span=self.span if self.span is not None else self.length,
            target=self.target if self.target is not None else self.end_value,
        )

    @functools.cached_property
    def coefficients(self) -> dict[str, float]:
        """The numbers :func:`curve_value` reads, computed once, in float64, on the host.

        The constants of linear and cosine are folded here (XLA does not reassociate float
        products). A line is measured from its lower end, so it never goes below it.
        """
        a = self.start_value
        b = self.target if self.target is not None else self.end_value
        span = self.span if self.span is not None else self.length
        length = float(span) if span else 1.0  # a Python int past int32 would not convert
        rising = a <= b
        positive = a > 0 and b > 0
        return {
            "a": a,
            "b": b,
            "length": length,
            "base": a if rising else b,
            "offset": 0.0 if rising else length,
            "sign": 1.0 if rising else -1.0,
            "rate": abs(b - a) / length,
            "half": (b - a) / 2,
            "omega": math.pi / length,
            "delta": b - a,
            "log_ratio": math.log(b / a) if positive else 0.0,
            "param": self.param,
        }


def curve_value(xp: Any, curve: str, t: Any, c: Mapping[str, Any]) -> Any:
    """The value of ``curve`` at local step ``t``, from its coefficients ``c``.

    ``c`` holds one phase's :attr:`Phase.coefficients` (Python floats), or arrays of many
    phases' coefficients gathered per step (one evaluation for every phase of one curve).
    """
    if curve == "constant":
        return c["a"]
    if curve == "inverse_sqrt":
        return c["a"] * xp.sqrt(c["param"] / (c["param"] + t))
    # cos is even about pi, so the cosine needs no clamp either.
    if curve == "cosine":
        return c["a"] + c["half"] * (1 - xp.cos(t * c["omega"]))
    if curve == "linear":
        return c["base"] + (c["offset"] + c["sign"] * t) * c["rate"]
    # t / length can exceed 1 by an ulp (XLA divides by a constant as a multiplication by its
    # reciprocal); clamping keeps 1 - x >= 0 and every end value exact.
    x = xp.minimum(t / c["length"], 1.0)
    if curve == "sqrt":
        return c["a"] + c["delta"] * _zero_at_zero(xp, xp.sqrt, x)
    if curve == "polynomial":
        power = c["param"]
        return c["b"] - c["delta"] * _zero_at_zero(xp, lambda y: y**power, 1 - x)
    if curve == "exponential":
        return c["a"] * xp.exp(x * c["log_ratio"])
    raise AssertionError(f"unknown curve {curve!r}")


def value_at(phases: tuple[Phase, ...], starts: tuple[int, ...], step: float) -> float:
    """The value of the schedule ``phases`` (whose starts are ``starts``) at a host step.

    The phase is found by bisection, so the cost does not grow with the number of phases.
    """
    step = max(step, 0)
    last = phases[-1]
    if last.end is not None and step >= last.end:
        return float(last.end_value)
    phase = phases[max(bisect.bisect_right(starts, step) - 1, 0)]
    return float(phase.value(HOST, step - phase.start))


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
