"""A piece of a schedule: a shape between two values over a range of steps.

A schedule's *plan* is the tuple of its pieces, in order: a warmup, the main phase (one piece,
or its cycles and their rewarmups, its milestones, its stages), a hold and a cooldown. The
pieces are laid end to end; the last one holds its final value forever after.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hydra_optax_schedules.shapes import HOST, SHAPES

__all__ = ["Piece", "PieceKind"]


class PieceKind(str, enum.Enum):
    """What a piece is in its schedule."""

    WARMUP = "warmup"
    MAIN = "main"
    REWARMUP = "rewarmup"
    CYCLE = "cycle"
    MILESTONE = "milestone"
    STAGE = "stage"
    HOLD = "hold"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class Piece:
    """One piece of a schedule: ``shape`` from ``start_value`` to ``end_value`` over
    ``length`` steps from step ``start``.

    Attributes:
        kind: What the piece is (:class:`PieceKind`).
        start: First step of the piece.
        length: Number of steps, or ``None`` for a piece that never ends.
        shape: The name of a registered shape (:mod:`hydra_optax_schedules.shapes`).
        start_value: Value at ``start``.
        end_value: Value at ``start + length`` (where the next piece takes over).
        params: The shape's parameters, as ``(name, value)`` pairs.
        index: Which cycle, rewarmup, milestone or stage it is (``None`` for the others).
        span: The length of the whole shape, if the piece is cut before the shape ends (a
            cooldown branched off the middle of a piece); ``None`` if it is ``length``.
        target: The value the whole shape ends at, if the piece is cut; ``None`` if it is
            ``end_value``.
    """

    kind: PieceKind
    start: int
    length: int | None
    shape: str
    start_value: float
    end_value: float
    params: tuple[tuple[str, float], ...] = ()
    index: int | None = None
    span: int | None = None
    target: float | None = None

    @property
    def name(self) -> str:
        """``"warmup"``, ``"cycle 2"``, ``"stage 0"``, ...: for summaries and messages."""
        return self.kind.value if self.index is None else f"{self.kind.value} {self.index}"

    @property
    def end(self) -> int | None:
        """The step where the next piece begins (``None`` if the piece never ends)."""
        return None if self.length is None else self.start + self.length

    def value(self, xp: Any, t: Any) -> Any:
        """The value at local step ``t`` (``0 <= t <= length``), computed with ``xp``."""
        if xp is HOST:
            return self.at_host(t)
        return SHAPES[self.shape].value(xp, t, self.coefficients)

    @functools.cached_property
    def at_host(self) -> Callable[[float], Any]:
        """The value at a local step on the host: the shape's formula with this piece's
        numbers bound once, so that a host call (every training step, for logging) costs
        about a microsecond."""
        shape, c = SHAPES[self.shape], self.coefficients
        formula, a, b, length, params = (
            shape.formula,
            c["a"],
            c["b"],
            c["length"],
            dict(self.params),
        )
        if shape.over == "steps":
            return lambda t: formula(HOST, t, a, b, **params)
        return lambda t: formula(HOST, min(t / length, 1.0), a, b, **params)

    def cut(self, length: int) -> Piece:
        """This piece ended after ``length`` steps, its shape unchanged."""
        return dataclasses.replace(
            self,
            length=length,
            end_value=float(self.value(HOST, length)),
            span=self.span if self.span is not None else self.length,
            target=self.target if self.target is not None else self.end_value,
        )

    @functools.cached_property
    def coefficients(self) -> dict[str, float]:
        """What the shape's formula reads: ``a``, ``b`` (the value the whole shape ends at),
        ``length`` (of the whole shape; 1 for a piece that never ends) and the parameters."""
        span = self.span if self.span is not None else self.length
        return {
            "a": self.start_value,
            "b": self.target if self.target is not None else self.end_value,
            "length": float(span) if span else 1.0,  # a Python int past int32 would not convert
            **dict(self.params),
        }
