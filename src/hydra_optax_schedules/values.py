"""What a value is, and how it is shown: number coercion, the limits, ``show``.

The bottom layer: it imports nothing of this package, so every other module (the config
checks, the plan, the viewer, the loader) uses the same limits and the same coercion.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

__all__ = [
    "F32_RANGE",
    "F32_TINY",
    "MAX_COUNT",
    "MAX_LR",
    "MAX_STEPS",
    "as_number",
    "f32_holds",
    "show",
    "string_hint",
]

#: The largest learning rate: one that float32, the dtype of a schedule under ``jit``, holds.
MAX_LR = 3.4028234663852886e38
#: The largest step count: a step past int64 cannot be a step of any training loop (nor a
#: float's exact value).
MAX_STEPS = 2**63 - 1
#: The smallest positive normal float32: a scale (``timescale``) below it has no reciprocal
#: that float32 holds, and rounds to 0 (or loses its precision) under ``jit``.
F32_TINY = 1.1754943508222875e-38
#: The most cycles, milestones or stages a config may have, and the most items of any of its
#: lists: a plan has at most a few pieces per item, so building, loading and previewing a
#: schedule stays within seconds and well under 1 GB (BENCHMARKS.md, "Bounded work").
MAX_COUNT = 10_000


def f32_holds(value: float) -> bool:
    """Whether float32 holds ``value`` as it is: 0, or a magnitude in ``[F32_TINY, MAX_LR]``
    (past it, infinite; below it, 0 or a subnormal that XLA on CPU flushes to 0)."""
    return value == 0 or F32_TINY <= abs(value) <= MAX_LR


#: The magnitudes :func:`f32_holds` accepts besides 0, for messages.
F32_RANGE = f"from {F32_TINY:.4g} to {MAX_LR:.4g}"


def show(value: Any) -> str:
    """``repr(value)`` for a message: at most 60 characters, whatever the value."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return f"<an int of about {int(value.bit_length() * math.log10(2))} digits>"
    return text if len(text) <= 60 else f"{text[:45]}... ({len(text)} characters)"


def as_number(value: Any) -> int | float | None:
    """``value`` as a Python ``int`` or ``float`` if it is a real number, else ``None``.

    NumPy and JAX scalars (0-d arrays) are numbers; booleans are not. A float of less than
    double precision becomes the shortest decimal that it represents (``np.float32(0.35)`` is
    ``0.35``), which is the number its user wrote.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if type(value) in (int, float):
        return cast("int | float", value)
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):  # a 0-d array
        import numpy

        value = numpy.asarray(value)[()]
        if value.dtype.kind == "f" and value.dtype.itemsize < 8:
            return float(str(value))
        if value.dtype.kind in "iu":
            return int(value)
        if value.dtype.kind == "f":
            return float(value)
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:  # an int past 1.8e308, as a Fraction
            return math.inf
    return None


def string_hint(value: Any) -> str:
    """For a number written as a string, how to pass it as a number; else ``""``."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    return ", not a string (from the environment: ${oc.decode:${oc.env:NAME}})"
