"""A schedule's values over an array of steps, in NumPy or in JAX (under ``jit`` too).

A schedule of a few pieces (warmup, main, cooldown) evaluates each piece's formula over all
steps and selects (:mod:`.select`); one of many pieces (cycles, milestones, stages) looks up
each step's piece in a table and evaluates each shape once with the coefficients of the steps'
pieces gathered (:mod:`.indexed`), so its cost does not grow with the number of pieces. For
integer steps, the local step is computed in the step's integer type (exact, no overflow) and
only then converted to float. Pieces that start beyond the largest representable step are
left out.
"""

from __future__ import annotations

import math
from typing import Any

from hydra_optax_schedules.evaluate.indexed import indexed
from hydra_optax_schedules.evaluate.select import FEW_PIECES, select
from hydra_optax_schedules.piece import Piece

__all__ = ["values_over"]


def values_over(xp: Any, pieces: tuple[Piece, ...], steps: Any) -> Any:
    """The values of the plan ``pieces`` at an array of ``steps`` (``xp`` is ``numpy`` or
    ``jax.numpy``): float steps keep their dtype, integer steps give the default float."""
    steps = _numeric(steps)
    integer = xp.issubdtype(steps.dtype, xp.integer)
    largest: float
    if integer:
        largest = int(xp.iinfo(steps.dtype).max)
        kept = [p for p in pieces if p.start <= largest]
        float_dtype = xp.result_type(float)
    else:
        largest = math.inf
        kept = list(pieces)
        float_dtype = steps.dtype
    # Bounds in the steps' own kind: a Python int past int32 would not convert under jit.
    bound = int if integer else float
    # Past the end of the last piece, its end value, exactly (t = length may round).
    final = pieces[-1]
    holds = final.end is not None and final.end <= largest and final.shape != "constant"
    held = (final.end_value, bound(final.end)) if final.end is not None and holds else None
    if len(kept) <= FEW_PIECES:
        lasts = [bound(largest if p.length is None else min(p.length, largest)) for p in kept]
        result = select(xp, steps, kept, lasts, bound, float_dtype, held)
    else:
        result = indexed(xp, _within(xp, steps, kept[-1]), kept, bound, float_dtype)
        if held is not None:
            result = xp.where(steps < held[1], result, held[0])
    if not integer:
        result = xp.where(xp.isnan(steps), math.nan, result)
    return xp.broadcast_to(xp.asarray(result, dtype=float_dtype), steps.shape)


def _within(xp: Any, steps: Any, last: Piece) -> Any:
    """Float ``steps``, those past the point where the value stops changing (the end of the
    ``last`` piece, or the start of a constant one) moved back to it: every formula, evaluated
    at every step, stays finite at an infinite step, and so does its derivative."""
    if xp.issubdtype(steps.dtype, xp.integer):
        return steps
    if last.end is not None:
        return xp.minimum(steps, float(last.end))
    if last.shape == "constant":
        return xp.minimum(steps, float(last.start))
    return steps


def _numeric(steps: Any) -> Any:
    """``steps`` if its dtype is a number's; a boolean array is a ``TypeError``."""
    if steps.dtype == bool:
        raise TypeError(
            f"steps of dtype {steps.dtype} are invalid: a step is a number, not a boolean"
        )
    return steps
