"""Restarts: the cycles of a decaying main phase, their exact boundaries, rewarmups and peaks.

Cycle ``i`` of ``n`` starts at ``floor(M * S_i / S_n + 1/2)`` of the main phase's ``M`` steps,
``S_i = m^0 + ... + m^(i-1)`` (``m = cycle_mult``), in exact integers; it peaks at
``lr * cycle_decay ** i`` and decays to the end value, after a rewarmup from the end value
(every cycle but the first).

A ``wsd`` schedule restarts the same way over the whole run ``[0, D]`` (WSD-S,
:func:`wsd_cycle_pieces`): each cycle holds its peak, then decays to ``cooldown_lr`` in its
last ``C_i`` steps, the cooldown's length, shape and fraction read per cycle.
"""

from __future__ import annotations

import decimal
import itertools
import math
from decimal import Decimal
from fractions import Fraction

from hydra_optax_schedules.config.families import WSD_COOLDOWN_FRACTION, shape_arguments
from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import both_set
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.plan.lengths import exact, nearest_step
from hydra_optax_schedules.values import F32_RANGE, f32_holds

__all__ = ["cycle_pieces", "wsd_cycle_pieces"]


def cycle_pieces(
    config: NormalizedConfig, prefix: str, start: int, length: int, end: float
) -> list[Piece]:
    """A decaying main phase over ``[start, start + length)``: ``cycles`` cycles, each from its
    peak to ``end`` in the family's shape, each after the first starting with its rewarmup."""
    family = config.family
    params = shape_arguments(family, config)
    if config.cycles == 1:
        return [Piece(PieceKind.MAIN, start, length, family, config.lr, end, params)]
    offsets = _cycle_offsets(config, prefix, length)
    rewarmup_params = shape_arguments(config.warmup_shape)
    pieces = []
    for i, (first, after) in enumerate(itertools.pairwise(offsets)):
        cycle = after - first
        rewarmup = 0 if i == 0 else _rewarmup(config, prefix, i, cycle)
        peak = _peak(config, prefix, i, family, end)
        if rewarmup:
            pieces.append(
                Piece(
                    PieceKind.REWARMUP,
                    start + first,
                    rewarmup,
                    config.warmup_shape,
                    end,
                    peak,
                    rewarmup_params,
                    index=i,
                )
            )
        pieces.append(
            Piece(
                PieceKind.CYCLE,
                start + first + rewarmup,
                cycle - rewarmup,
                family,
                peak,
                end,
                params,
                index=i,
            )
        )
    return pieces


def wsd_cycle_pieces(config: NormalizedConfig, prefix: str, warmup: int) -> list[Piece]:
    """WSD with restarts (WSD-S): the run ``[0, D)`` in ``cycles`` cycles ``[b_i, b_(i+1))``
    (:func:`_cycle_offsets` over ``D``), each a rise, a stable phase and a decay.

    Cycle ``i`` of ``L_i`` steps rises to its peak ``p_i = lr * cycle_decay ** i`` (cycle 0
    by the warmup of ``W`` steps, which the caller adds; cycle ``i >= 1`` by its rewarmup of
    ``R_i`` steps from ``cooldown_lr``, 0 by default: a jump), holds ``p_i``, and decays from
    ``p_i`` to ``cooldown_lr`` in the ``cooldown_shape`` over its last ``C_i`` steps:
    ``cooldown_steps``, or ``L_i - round(L_i * (1 - cooldown_fraction))`` (the wsd default
    fraction if neither is set). With one cycle this is the wsd schedule.
    """
    assert config.decay_steps is not None  # a wsd cooldown without the run length is refused
    total, end = config.decay_steps, config.cooldown_lr
    shape = config.cooldown_shape
    assert shape is not None  # normalized
    offsets = _cycle_offsets(config, prefix, total)
    pieces = []
    for i, (first, after) in enumerate(itertools.pairwise(offsets)):
        cycle = after - first
        decay = _wsd_decay(config, prefix, i, cycle)
        rise = warmup if i == 0 else _rewarmup(config, prefix, i, cycle)
        if rise + decay > cycle:
            rising = f"{prefix}warmup_steps={warmup}" if i == 0 else f"its rewarmup of {rise} steps"
            raise ScheduleConfigError(
                f"{prefix}cycles={config.cycles} is invalid with this wsd schedule: cycle {i} is "
                f"{cycle} steps long, less than {rising} and its decay of {decay} steps; use "
                "fewer cycles, or a shorter warmup, rewarmup or cooldown",
                field="cycles",
            )
        peak = _peak(config, prefix, i, "wsd", end)
        if i and rise:
            pieces.append(
                Piece(
                    PieceKind.REWARMUP,
                    first,
                    rise,
                    config.warmup_shape,
                    end,
                    peak,
                    shape_arguments(config.warmup_shape),
                    index=i,
                )
            )
        stable = cycle - rise - decay
        pieces.append(Piece(PieceKind.CYCLE, first + rise, stable, "constant", peak, peak, index=i))
        pieces.append(
            Piece(
                PieceKind.COOLDOWN,
                after - decay,
                decay,
                shape,
                peak,
                end,
                shape_arguments(shape),
                index=i,
            )
        )
    return pieces


def _wsd_decay(config: NormalizedConfig, prefix: str, i: int, cycle: int) -> int:
    """``C_i``: the decay at the end of cycle ``i`` of a wsd schedule, at least one step."""
    if config.cooldown_steps:
        if config.cooldown_steps > cycle:
            raise ScheduleConfigError(
                f"{prefix}cooldown_steps={config.cooldown_steps} is invalid with {prefix}cycles="
                f"{config.cycles}: each cycle of a wsd schedule ends with a decay of that many "
                f"steps, and cycle {i} is {cycle} steps long",
                field="cooldown_steps",
            )
        return config.cooldown_steps
    fraction = config.cooldown_fraction
    field = "cooldown_fraction" if fraction is not None else "cycles"
    decay = cycle - nearest_step(1 - exact(fraction or WSD_COOLDOWN_FRACTION), cycle)
    if decay < 1:
        given = (
            f"{prefix}cooldown_fraction={fraction!r}"
            if fraction is not None
            else (f"the default cooldown ({WSD_COOLDOWN_FRACTION:g} of each cycle)")
        )
        raise ScheduleConfigError(
            f"{prefix}cycles={config.cycles} is invalid with this wsd schedule: cycle {i} is "
            f"{cycle} steps long, and {given} rounds its decay to 0 steps; use fewer cycles, "
            f"or set {prefix}cooldown_steps",
            field=field,
        )
    return decay


def _cycle_offsets(config: NormalizedConfig, prefix: str, length: int) -> list[int]:
    """Where each cycle starts in the main phase, and its end: ``floor(M * S_i / S_n + 1/2)``
    with ``S_i = m^0 + ... + m^(i-1)`` in exact rationals (``m = cycle_mult``)."""
    n, mult = config.cycles, exact(config.cycle_mult)

    def too_short(why: str) -> ScheduleConfigError:
        return ScheduleConfigError(
            f"{prefix}cycles={n} with {prefix}cycle_mult={config.cycle_mult!r} is invalid over "
            f"a main phase of {length} steps: {why}; every cycle needs at least 1 step",
            field="cycles",
        )

    if n > length:
        raise too_short(f"{n} cycles do not fit in {length} steps")
    if mult != 1:
        # The shortest cycle is about M * |m - 1| * min(1, m^(n-1)) / |m^n - 1|: refuse a
        # config whose shortest cycle is far below one step before computing m^n exactly.
        log_m = math.log(mult)
        log_shortest = (
            math.log(length)
            + math.log(abs(mult - 1))
            + min(0.0, (n - 1) * log_m)
            - max(0.0, n * log_m)
            - math.log1p(-math.exp(-abs(n * log_m)))
        )
        if log_shortest < math.log(0.25):
            raise too_short("the shortest cycle would be less than a step long")
        offsets = _geometric_offsets(mult, n, length)
    else:
        offsets = [nearest_step(Fraction(i, n), length) for i in range(n + 1)]
    for i, (first, after) in enumerate(itertools.pairwise(offsets)):
        if after - first < 1:
            raise too_short(f"cycle {i} would be {after - first} steps long")
    return offsets


def _geometric_offsets(mult: Fraction, n: int, length: int) -> list[int]:
    """``floor(M * S_i / S_n + 1/2)`` for ``i = 0..n``, ``S_i = (m^i - 1) / (m - 1)``, exactly.

    With ``m = p / q``, ``S_i / S_n = (p^i q^(n-i) - q^n) / (p^n - q^n)``. Small numbers are
    computed exactly term by term (``* p // q``); for many cycles of a many-digit ``m``, where
    those integers grow to ``n`` times ``m``'s digits and the work to ``n^2`` times them, each
    offset is computed from ``m^i`` in :data:`_DIGITS`-digit decimals and decided exactly
    (:func:`_exact_offset`) only when it lies within :data:`_NEAR` of a rounding boundary, so
    the result is the exact one in both cases at a cost linear in ``n``.
    """
    p, q = mult.numerator, mult.denominator
    if n * (p.bit_length() + q.bit_length()) <= _EXACT_BITS:
        return _exact_offsets(p, q, n, length)
    with decimal.localcontext() as context:
        context.prec = _DIGITS
        m = Decimal(p) / Decimal(q)
        powers = [Decimal(1)]
        for _ in range(n):
            powers.append(powers[-1] * m)
        whole = powers[-1] - 1
        offsets = []
        for i, power in enumerate(powers):
            if i in (0, n):
                offsets.append(0 if i == 0 else length)
                continue
            shifted = length * (power - 1) / whole + Decimal("0.5")
            floor = int(shifted)
            if min(shifted - floor, floor + 1 - shifted) < _NEAR:
                floor = _exact_offset(p, q, n, i, length)
            offsets.append(floor)
    return offsets


#: Exact terms up to this many bits in all (``n`` times the bits of ``p`` and ``q``).
_EXACT_BITS = 1 << 16
#: Decimal digits of ``m^i`` when the exact terms would be larger: an offset's error is below
#: ``10^-(_DIGITS - 60)`` (``m^i`` loses at most ``n <= MAX_COUNT`` roundings, ``m^i - 1`` at
#: most 17 digits to cancellation as ``|m - 1| >= 1.1e-16``, and ``M < 2^63`` scales it).
_DIGITS = 100
#: An offset this close to a rounding boundary is decided exactly.
_NEAR = Decimal("1e-30")


def _exact_offset(p: int, q: int, n: int, i: int, length: int) -> int:
    """``floor(M * S_i / S_n + 1/2)`` in integers: one offset of :func:`_exact_offsets`."""
    base, denominator = q**n, p**n - q**n
    term = p**i * q ** (n - i)
    return int((2 * length * (term - base) + denominator) // (2 * denominator))


def _exact_offsets(p: int, q: int, n: int, length: int) -> list[int]:
    """Every offset in integers, each term ``p^i q^(n-i)`` found from the one before."""
    base = q**n
    denominator = p**n - base
    offsets = []
    term = base  # p^i q^(n-i), from i = 0
    for i in range(n + 1):
        offsets.append((2 * length * (term - base) + denominator) // (2 * denominator))
        if i < n:
            term = term // q * p
    return offsets


def _rewarmup(config: NormalizedConfig, prefix: str, i: int, cycle: int) -> int:
    """``R_i``: the rewarmup of cycle ``i >= 1``, which must leave a step to decay."""
    steps, fraction = config.rewarmup_steps, config.rewarmup_fraction
    if fraction is not None and steps != 0:
        raise both_set(prefix, "rewarmup_steps", steps, "rewarmup_fraction", fraction)
    field = "rewarmup_steps" if fraction is None else "rewarmup_fraction"
    rewarmup = steps if fraction is None else nearest_step(exact(fraction), cycle)
    if cycle - rewarmup < 1:
        raise ScheduleConfigError(
            f"{prefix}cycles={config.cycles} with {prefix}{field}={getattr(config, field)!r} is "
            f"invalid: cycle {i} is {cycle} steps long, and its rewarmup of {rewarmup} steps "
            "leaves no step to decay; use fewer cycles or a shorter rewarmup",
            field="cycles",
        )
    return rewarmup


def _peak(config: NormalizedConfig, prefix: str, i: int, family: str, end: float) -> float:
    """``p_i = lr * cycle_decay ** i``: a learning rate float32 holds (and, for an exponential
    decay, one that ``end / p_i`` is a float's ratio of)."""
    try:
        peak = config.lr * config.cycle_decay**i
    except OverflowError:
        peak = math.inf
    valid = peak > 0 and f32_holds(peak)
    if valid and family == "exponential":
        valid = end / peak > 0 and f32_holds(end / peak)
    if not valid:
        raise ScheduleConfigError(
            f"{prefix}cycle_decay={config.cycle_decay!r} is invalid with {prefix}cycles="
            f"{config.cycles}: the peak of cycle {i}, lr * cycle_decay ** {i} = {peak!r}, must "
            f"be a learning rate > 0 that float32 holds ({F32_RANGE})"
            + (", and so must the ratio end / peak" if family == "exponential" else ""),
            field="cycle_decay",
        )
    return peak
