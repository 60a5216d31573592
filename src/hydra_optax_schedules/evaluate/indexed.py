"""A plan of many pieces over an array of steps: each step's piece looked up, each shape
evaluated once.

Each step's piece is found in a table of buckets (:func:`piece_index`: one lookup and a
comparison or two, whatever the number of pieces), its start and coefficients gathered, and
each shape evaluated once over all steps: cycles, milestones and stages cost about what one
piece costs.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from hydra_optax_schedules.piece import Piece
from hydra_optax_schedules.shapes import OVER, SHAPES, position

__all__ = ["indexed", "piece_index"]


def indexed(xp: Any, steps: Any, pieces: list[Piece], bound: Any, float_dtype: Any) -> Any:
    """Each step's piece looked up (:func:`piece_index`), its start and coefficients
    gathered (:func:`_shape_columns`), and each shape evaluated once for all steps."""
    index = piece_index(xp, steps, [p.start for p in pieces], bound)

    def column(values: Any, dtype: Any) -> Any:
        if isinstance(values, tuple):
            return xp.asarray(values, dtype=dtype)[index]
        return xp.asarray(values, dtype=dtype)

    # A step is before the next piece's start, so within its own piece: only a step before
    # the first piece (negative) needs a clamp, and past the last, the caller holds its end.
    local = xp.maximum(steps - column(tuple(bound(p.start) for p in pieces), steps.dtype), 0)
    local = local.astype(float_dtype)
    lengths, columns = _shape_columns(tuple(pieces))
    positions = {over: position(xp, over, local, column(lengths, float_dtype)) for over in OVER}
    gathered: dict[Any, Any] = {}  # a column that several shapes read is gathered once
    result = None
    for shape, coefficients, own in columns:
        for values in coefficients.values():
            if values not in gathered:
                gathered[values] = column(values, float_dtype)
        read = {name: gathered[values] for name, values in coefficients.items()}
        value = SHAPES[shape].at(xp, positions[SHAPES[shape].over], read)
        if result is not None:
            value = xp.where(column(own, bool), value, result)
        result = value
    return result


@functools.lru_cache(maxsize=64)
def _shape_columns(
    pieces: tuple[Piece, ...],
) -> tuple[Any, tuple[tuple[str, dict[str, Any], Any], ...]]:
    """``(lengths, columns)``: the column of the pieces' lengths, and ``(shape, coefficients,
    own)`` for each shape of ``pieces``, the last one's first: the column of each value and
    parameter the shape reads, and of whether a piece is the shape's own.

    A column holds one number per piece (XLA on CPU gathers single numbers many times faster
    than rows), or, if they all hold the same number, that number: it is not gathered. A
    total shape (:attr:`Shape.total`) reads every piece's own ``a`` and ``b``, so shapes share
    those columns; for another shape, and for parameters, pieces of other shapes get the
    numbers of one of this shape's pieces: a value discarded in the end, but finite, and so
    is its derivative. Computed once per schedule.
    """
    columns = []
    for shape in reversed(dict.fromkeys(p.shape for p in pieces)):
        stand_in = next(p for p in pieces if p.shape == shape).coefficients
        shared = ("a", "b") if SHAPES[shape].total else ()
        coefficients = {
            name: _one_or_each(
                [
                    (p.coefficients if p.shape == shape or name in shared else stand_in)[name]
                    for p in pieces
                ]
            )
            for name in ("a", "b", *SHAPES[shape].params)
        }
        columns.append((shape, coefficients, _one_or_each([p.shape == shape for p in pieces])))
    lengths = _one_or_each([p.coefficients["length"] for p in pieces])
    return lengths, tuple(columns)


def _one_or_each(values: list[Any]) -> Any:
    """``values[0]`` if every value is it (bit for bit: -0.0 is not 0.0), else all of them."""
    return values[0] if len({repr(value) for value in values}) == 1 else tuple(values)


#: The most buckets in the table of :func:`piece_index`.
_MAX_TABLE = 1 << 16


@functools.lru_cache(maxsize=64)
def _bucket_table(starts: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
    """``(width, table, extra)`` for :func:`piece_index`: buckets of ``width`` steps (the
    shortest distance between two starts, widened to at most ``_MAX_TABLE`` buckets), the
    piece at each bucket's first step, and the most starts any bucket holds after it."""
    import numpy

    ends = numpy.asarray(starts, dtype=numpy.int64)
    width = max(int(numpy.diff(ends).min()), -(-starts[-1] // _MAX_TABLE))
    firsts = numpy.arange(starts[-1] // width + 1, dtype=numpy.int64) * width
    table = numpy.searchsorted(ends, firsts, side="right") - 1
    lasts = numpy.searchsorted(ends, firsts + (width - 1), side="right") - 1
    return width, tuple(table.tolist()), int((lasts - table).max())


def piece_index(
    xp: Any, steps: Any, starts: list[int], bound: Any, *, unrolled: bool = True
) -> Any:
    """Each step's piece: the last one whose start is ``<= step`` (the first before it). Any
    sorted ``starts`` beginning at 0 (a ramp's segments too: :mod:`..plan.units`).

    Steps fall into buckets of ``width`` steps; a table holds the piece at each bucket's first
    step, and a step is in that piece or, past their starts, in one of the ``extra`` next
    (at most one when ``width`` is the shortest piece): one lookup and ``extra`` comparisons,
    whatever the number of pieces. Pieces so unequal that a bucket would hold more starts
    than a binary search has levels are found by the binary search (``unrolled``: its levels
    written out, which XLA fuses; else a loop, a program whose size does not depend on the
    number of starts).

    Indices are unsigned, so that an index needs no wrap-around of negative values, and
    integer steps are divided as unsigned numbers once clamped (a plain division, not a
    floor).
    """
    count = len(starts)
    width, table, extra = _bucket_table(tuple(starts))
    if extra > math.log2(count):
        ends = xp.asarray([bound(s) for s in starts], dtype=steps.dtype)
        found = _searchsorted(xp, ends, steps, unrolled)
        return xp.clip(found - 1, 0, count - 1).astype(xp.uint32)
    # Steps are clamped into [0, the last start] first: the table covers that, and an
    # infinite step would have no bucket. A NaN step is in the first (its value is NaN).
    last = bound(starts[-1])
    if bound is int:
        unsigned = xp.dtype(f"uint{xp.iinfo(steps.dtype).bits}")
        bucket = xp.clip(steps, 0, last).astype(unsigned) // xp.asarray(width, dtype=unsigned)
    else:
        bucket = xp.where(steps >= 0, xp.minimum(steps, last), 0) // width
    bucket = bucket.astype(xp.uint32)
    index = xp.asarray(table, dtype=xp.uint32)[bucket]
    if extra == 0:
        return index
    beyond = math.inf if bound is float else int(xp.iinfo(steps.dtype).max)
    following = xp.asarray([bound(s) for s in starts[1:]] + [beyond], dtype=steps.dtype)
    for _ in range(extra):
        # Never past the last piece: a step at its dtype's largest value passes the sentinel.
        index = xp.minimum(index + (steps >= following[index]).astype(xp.uint32), count - 1)
    return index


def _searchsorted(xp: Any, starts: Any, steps: Any, unrolled: bool) -> Any:
    """How many of the sorted ``starts`` are ``<= steps``, elementwise: a binary search.

    Under JAX the search is unrolled (``log2`` of the number of pieces levels, each a gather
    and a compare over all steps), which XLA fuses; its default loop is several times slower.
    """
    if xp.__name__ == "numpy":
        return xp.searchsorted(starts, steps, side="right")
    method = "scan_unrolled" if unrolled else "scan"
    return xp.searchsorted(starts, steps, side="right", method=method)
