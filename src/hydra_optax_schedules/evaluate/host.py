"""A schedule's value at one host step: Python floats and ``math``, no NumPy, no JAX.

Cheap enough to call at every training step for logging (about a microsecond): the piece is
found by bisection, so the cost does not grow with the number of pieces.
"""

from __future__ import annotations

import bisect

from hydra_optax_schedules.piece import Piece

__all__ = ["value_at"]


def value_at(pieces: tuple[Piece, ...], starts: tuple[int, ...], step: float) -> float:
    """The value of the schedule ``pieces`` (whose starts are ``starts``) at a host step.

    A negative step is step 0; past the end of the last piece, its end value holds.
    """
    step = max(step, 0)
    last = pieces[-1]
    if last.end is not None and step >= last.end:
        return float(last.end_value)
    piece = pieces[max(bisect.bisect_right(starts, step) - 1, 0)]
    return float(piece.at_host(step - piece.start))
