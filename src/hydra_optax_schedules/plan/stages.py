"""Any piecewise main phase: ``stages``, laid end to end, one piece each.

A stage runs its shape from ``lr * start`` to ``lr * end`` over its steps (or its fraction of
the run); the stages must cover the main phase exactly, the last one may take the rest.
"""

from __future__ import annotations

from typing import cast

from hydra_optax_schedules.config.families import shape_arguments
from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import both_set, invalid, needs_length
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.plan.lengths import exact, nearest_step
from hydra_optax_schedules.shapes import SHAPES
from hydra_optax_schedules.values import F32_RANGE, f32_holds

__all__ = ["stage_pieces"]


def stage_pieces(
    config: NormalizedConfig, prefix: str, start: int, length: int | None
) -> list[Piece]:
    """The stages, one piece each, laid end to end from ``start``; they must cover the main
    phase exactly when its length is known."""
    stages = config.stages
    if not stages:
        raise invalid(
            prefix, "stages", stages, "expected a list of at least one stage (steps, shape, ...)"
        )
    lengths: list[int | None] = []
    for j, stage in enumerate(stages):
        name = f"stages[{j}]."
        if stage.steps is not None and stage.fraction is not None:
            raise both_set(prefix, f"{name}steps", stage.steps, f"{name}fraction", stage.fraction)
        if stage.steps is not None:
            lengths.append(stage.steps)
        elif stage.fraction is not None:
            if config.decay_steps is None:
                raise needs_length(prefix, f"{prefix}{name}fraction")
            steps = nearest_step(exact(stage.fraction), config.decay_steps)
            if steps == 0:
                raise invalid(
                    prefix,
                    f"{name}fraction",
                    stage.fraction,
                    f"it rounds to 0 steps of {prefix}decay_steps={config.decay_steps}",
                )
            lengths.append(steps)
        elif j < len(stages) - 1:
            raise ScheduleConfigError(
                f"{prefix}stages[{j}] has neither steps nor fraction: only the last stage may "
                "take the rest of the main phase; set its steps or fraction",
                field=f"{name}steps",
            )
        elif length is None:
            raise needs_length(prefix, f"{prefix}stages[{j}] (the rest of the main phase)")
        else:
            lengths.append(None)
    covered = sum(n for n in lengths if n is not None)
    if lengths[-1] is None:
        assert length is not None  # a rest stage without the run length was refused above
        if covered >= length:
            raise ScheduleConfigError(
                f"{prefix}stages before the last cover {covered} steps, and the main phase has "
                f"{length}: the last stage, which takes the rest, would be empty",
                field="stages",
            )
        lengths[-1] = length - covered
    elif length is not None and covered != length:
        span = (
            "decay_steps - warmup_steps: the cooldown branches off at cooldown_start"
            if config.cooldown_start is not None or config.cooldown_start_fraction is not None
            else "decay_steps - warmup_steps - cooldown_steps"
        )
        raise ScheduleConfigError(
            f"{prefix}stages cover {covered} steps, but the main phase has {length} ({span}): "
            "the stages must cover it exactly",
            field="stages",
        )
    pieces, begin, previous = [], start, 1.0
    for j, (stage, steps) in enumerate(zip(stages, cast("list[int]", lengths), strict=True)):
        name = f"stages[{j}]."
        first = previous if stage.start is None else stage.start
        last = first if stage.end is None else stage.end
        if SHAPES[stage.shape].holds and last != first:
            raise ScheduleConfigError(
                f"{prefix}{name}end={last!r} is invalid: a {stage.shape} stage holds its start "
                f"({first!r}); leave end unset, or use another shape",
                field=f"{name}end",
            )
        for key, multiple in (("start", first), ("end", last)):
            value = config.lr * multiple
            if not f32_holds(value):
                raise invalid(
                    prefix,
                    name + key,
                    multiple,
                    f"lr * {key} = {value!r} must be a learning rate float32 holds "
                    f"(0, or {F32_RANGE})",
                )
            if stage.shape == "exponential" and not value > 0:
                raise invalid(
                    prefix, name + key, multiple, "an exponential stage needs start and end > 0"
                )
        if stage.shape == "exponential" and not f32_holds(last / first):
            raise invalid(
                prefix,
                name + "end",
                last,
                f"an exponential stage needs a ratio end / start = {last / first!r} that "
                f"float32 holds ({F32_RANGE})",
            )
        pieces.append(
            Piece(
                PieceKind.STAGE,
                begin,
                steps,
                stage.shape,
                config.lr * first,
                config.lr * last,
                shape_arguments(stage.shape, stage),
                index=j,
            )
        )
        begin, previous = begin + steps, last
    return pieces
