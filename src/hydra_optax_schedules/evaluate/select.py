"""A plan of a few pieces over an array of steps: every piece's formula, then a select.

For a warmup, a main phase and a cooldown this is cheaper than a lookup (XLA on CPU gathers
one element at a time) and compiles to about as many instructions as optax's own schedule.
"""

from __future__ import annotations

from typing import Any

from hydra_optax_schedules.piece import Piece
from hydra_optax_schedules.shapes import SHAPES

__all__ = ["FEW_PIECES", "select"]


#: Up to this many pieces, every piece is evaluated and the step's selected: cheaper than a
#: search and gathers (XLA on CPU gathers one element at a time), and at parity with optax.
FEW_PIECES = 4


def select(
    xp: Any,
    steps: Any,
    pieces: list[Piece],
    lasts: list[Any],
    bound: Any,
    float_dtype: Any,
    held: tuple[float, Any] | None,
) -> Any:
    """Every piece's formula over all steps, each step taking its own piece's value (or
    ``held = (value, from_step)`` from that step on).

    A shape over progress clamps its progress to ``[0, 1]`` itself (``shapes.position``); a
    shape over steps reads its local step clamped to ``[0, last]`` (``lasts``: each piece's
    last local step), so that it is finite, and so is its slope, at an infinite step.
    """
    result, after = held if held is not None else (None, None)
    for piece, last in zip(reversed(pieces), reversed(lasts), strict=True):
        local = steps - bound(piece.start)
        if SHAPES[piece.shape].over == "steps":
            local = xp.clip(local, 0, last)
        value = piece.value(xp, local.astype(float_dtype))
        if result is not None:
            value = xp.where(steps < after, value, result)
        result, after = value, bound(piece.start)
    return result
