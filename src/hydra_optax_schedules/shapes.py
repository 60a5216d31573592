"""Every formula of a schedule, written once over an array namespace.

``xp`` is ``math`` for Python numbers (host evaluation: logging, plots), ``numpy`` for NumPy
arrays, or ``jax.numpy`` inside ``jit``. The same code computes a step's learning rate in
all three, so the paths cannot drift apart.

A schedule is a sequence of :class:`Phase` objects. A phase runs for ``length`` steps from
step ``start`` and moves from ``start_value`` (``a``) to ``end_value`` (``b``) along a
``curve``; with ``x = t / length`` the progress through the phase at local step ``t``:

============  =====================================================
curve         value at progress ``x`` in ``[0, 1]``
============  =====================================================
constant      ``a``
linear        ``a + (b - a) * x``
cosine        ``a + (b - a) * (1 - cos(pi * x)) / 2``
exponential   ``a * (b / a) ** x``  (continuous, not staircase)
============  =====================================================

The cosine row is the familiar ``b + (a - b) * (1 + cos(pi * x)) / 2`` rearranged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CURVES", "Phase"]

CURVES = ("constant", "linear", "cosine", "exponential")


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
    """

    name: str
    start: int
    length: int | None
    curve: str
    start_value: float
    end_value: float

    @property
    def end(self) -> int | None:
        """The step where the next phase begins (``None`` if the phase never ends)."""
        return None if self.length is None else self.start + self.length

    def value(self, xp: Any, t: Any) -> Any:
        """The learning rate at local step ``t`` (``0 <= t <= length``), computed with ``xp``."""
        a, b = self.start_value, self.end_value
        if self.curve == "constant":
            return a
        x = t / self.length
        if self.curve == "linear":
            return a + (b - a) * x
        if self.curve == "cosine":
            return a + (b - a) * (1 - xp.cos(math.pi * x)) / 2
        if self.curve == "exponential":
            return a * xp.exp(x * math.log(b / a))
        raise AssertionError(f"unknown curve {self.curve!r}")
