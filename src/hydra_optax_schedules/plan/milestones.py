"""Step decay: the milestones of a ``multistep`` main phase, one constant piece each.

After the ``k``-th milestone the value is ``lr * decay_factor ** k``; milestones are steps, or
fractions of the run rounded to the nearest step exactly.
"""

from __future__ import annotations

import math

from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import invalid, needs_length
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.plan.lengths import exact, nearest_step
from hydra_optax_schedules.values import F32_RANGE, f32_holds, show

__all__ = ["milestone_pieces"]


def milestone_pieces(
    config: NormalizedConfig, prefix: str, start: int, length: int | None
) -> list[Piece]:
    """``lr * decay_factor ** k`` after the ``k``-th milestone: one constant piece each."""
    milestones, fractions = config.milestones, config.milestone_fractions
    if (milestones is None) == (fractions is None):
        both = "are both set" if milestones is not None else "are both unset"
        raise ScheduleConfigError(
            f"{prefix}milestones={show(milestones)} and {prefix}milestone_fractions="
            f"{show(fractions)} {both}: the multistep schedule needs exactly one of them",
            field="milestones",
        )
    field = "milestones" if fractions is None else "milestone_fractions"
    given = milestones if fractions is None else fractions
    if not given:
        raise invalid(prefix, field, given, "expected at least one milestone")
    if fractions is not None:
        if config.decay_steps is None:
            raise needs_length(prefix, f"{prefix}milestone_fractions")
        for i, fraction in enumerate(fractions):
            if not 0 < fraction < 1:
                raise invalid(prefix, f"{field}[{i}]", fraction, "expected a number in (0, 1)")
        milestones = tuple(nearest_step(exact(f), config.decay_steps) for f in fractions)
    end = math.inf if length is None else start + length
    assert milestones is not None  # exactly one of milestones / milestone_fractions
    for i, step in enumerate(milestones):
        if not start < step < end:
            where = f"in ({start}, {end})" if length is not None else f"> {start}"
            raise invalid(
                prefix,
                f"{field}[{i}]",
                given[i],
                f"expected a milestone step after the warmup and before the cooldown, {where}"
                + ("" if fractions is None else f"; it is step {step}"),
            )
        if i and step <= milestones[i - 1]:
            raise invalid(
                prefix,
                f"{field}[{i}]",
                given[i],
                f"milestones must be strictly increasing; it is step {step}, after step "
                f"{milestones[i - 1]}",
            )
    pieces = []
    for k, (first, after) in enumerate(zip((start, *milestones), (*milestones, end), strict=True)):
        try:
            value = config.lr * config.decay_factor**k
        except OverflowError:
            value = math.inf
        if not (value > 0 and f32_holds(value)):
            raise ScheduleConfigError(
                f"{prefix}decay_factor={config.decay_factor!r} is invalid with {k} milestones: "
                f"lr * decay_factor ** {k} = {value!r} must be a learning rate > 0 "
                f"that float32 holds ({F32_RANGE})",
                field="decay_factor",
            )
        kind, index = (PieceKind.MAIN, None) if k == 0 else (PieceKind.MILESTONE, k)
        steps = None if after == math.inf else int(after) - first
        pieces.append(Piece(kind, first, steps, "constant", value, value, index=index))
    return pieces
