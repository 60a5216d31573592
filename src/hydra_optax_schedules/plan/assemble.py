"""A schedule's plan: its warmup, main phase and cooldown, put together as pieces.

The warmup ``[0, W)``, the main phase ``[W, D - C)`` (one piece, or its cycles
(:mod:`.cycles`), milestones (:mod:`.milestones`) or stages (:mod:`.stages`)), and the cooldown
``[D - C, D]``, or ``[S, S + C]`` branched off ``cooldown_start = S``. The checks that involve
several fields, and the run length, are made here, before any piece is built.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

from hydra_optax_schedules.config.families import (
    WSD_COOLDOWN_FRACTION,
    decaying_families,
    is_decaying,
    restarts,
    shape_arguments,
)
from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.evaluate.host import value_at
from hydra_optax_schedules.messages import invalid, needs_length
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.plan.cycles import cycle_pieces, wsd_cycle_pieces
from hydra_optax_schedules.plan.lengths import (
    cooldown_branch,
    derived,
    end_value,
    warmup_cooldown,
)
from hydra_optax_schedules.plan.milestones import milestone_pieces
from hydra_optax_schedules.plan.stages import stage_pieces
from hydra_optax_schedules.shapes import BUILTIN_SHAPES, HOST, SHAPES
from hydra_optax_schedules.values import F32_RANGE, MAX_LR, f32_holds

__all__ = ["Plan", "plan", "plan_pieces"]


class Plan(NamedTuple):
    """A schedule's pieces, and ``at_branch``: the piece of the main phase that starts at the
    step a branched cooldown starts at, left out of the pieces; the cooldown starts from its
    first value (``None`` if there is no such piece)."""

    pieces: tuple[Piece, ...]
    at_branch: Piece | None = None


def plan_pieces(config: NormalizedConfig, prefix: str = "") -> tuple[Piece, ...]:
    """The pieces of a normalized config's schedule, in order (:func:`plan`)."""
    return plan(config, prefix).pieces


def plan(config: NormalizedConfig, prefix: str = "") -> Plan:
    """The pieces of a normalized config's schedule, in order: its plan.

    Warmup ``[0, W)``, the main phase ``[W, D - C)`` (one phase, or its cycles, milestones or
    stages), and the cooldown ``[D - C, D]``, or ``[S, S + C]`` from ``cooldown_start = S``;
    the last phase holds its final value forever after. Empty phases are left out, except a
    main phase that is last. A constant, inverse-sqrt, multistep or stages schedule without a
    cooldown needs no ``decay_steps`` (unless it gives lengths as fractions of it).
    """
    family, decaying = config.family, is_decaying(config.family)
    lr, total = config.lr, config.decay_steps
    end = end_value(config, prefix) if decaying else None
    if family == "exponential" and end == 0:
        raise ScheduleConfigError(
            f"{prefix}end_lr={config.end_lr!r}, {prefix}end_lr_factor={config.end_lr_factor!r} "
            "is invalid: exponential decay needs an end value > 0; set end_lr or end_lr_factor",
            field="end_lr",
        )
    if family == "exponential" and end is not None and not (end > 0 and f32_holds(end / lr)):
        raise ScheduleConfigError(
            f"{prefix}lr={lr!r} to an end value of {end!r} is invalid: exponential decay needs "
            f"a ratio end / lr that float32 holds ({F32_RANGE})",
            field="end_lr",
        )
    if config.cycles > 1 and not restarts(family):
        raise invalid(
            prefix,
            "cycles",
            config.cycles,
            f"only a decaying family ({', '.join(decaying_families())}) or wsd restarts; the "
            f"{config.name} schedule has 1 cycle",
        )
    warmup, cooldown = warmup_cooldown(config, prefix)
    branch = cooldown_branch(config, prefix)
    if branch is not None:
        _check_branch(config, prefix, warmup, cooldown, branch)
    if total is None and (decaying or (cooldown > 0 and branch is None)):
        raise needs_length(prefix, f"the {config.name} schedule" if decaying else "a cooldown")
    if family == "wsd" and cooldown == 0:
        if config.cooldown_fraction is None and config.cooldown_steps == 0:
            why = f"its default cooldown ({WSD_COOLDOWN_FRACTION:g} of the run) rounds to 0 steps"
        else:
            why = f"{prefix}cooldown_fraction={config.cooldown_fraction!r} gives no decay phase"
        raise ScheduleConfigError(
            f"{prefix}decay_steps={total}: a wsd schedule needs a decay phase, and {why}; set "
            f"{prefix}cooldown_steps or a larger {prefix}cooldown_fraction",
            field="cooldown_fraction",
        )
    in_main = 0 if branch is not None else cooldown  # a branched cooldown is not in D
    warmup_term = derived(config, prefix, "warmup_steps", warmup)
    cooldown_term = derived(config, prefix, "cooldown_steps", cooldown)
    if total is not None and warmup + in_main > total:
        if branch is not None:
            message = (
                f"{warmup_term} > {prefix}decay_steps={total} is invalid: the warmup must fit "
                "in decay_steps (the cooldown branches off at cooldown_start)"
            )
        else:
            message = (
                f"{warmup_term} + {cooldown_term} > {prefix}decay_steps={total} is invalid: "
                "warmup and cooldown must fit in decay_steps"
            )
        raise ScheduleConfigError(message, field="decay_steps")
    main = None if total is None else total - warmup - in_main
    if decaying and main == 0:
        # D less the phases in it: the warmup, and the cooldown unless it branches off.
        fitting = f"{prefix}decay_steps={total} - {warmup_term}"
        if branch is None:
            fitting += f" - {cooldown_term}"
        raise ScheduleConfigError(
            f"{fitting} = 0 is invalid: the {config.name} schedule needs a main phase of at "
            "least one step",
            field="decay_steps",
        )

    phases = []
    if warmup > 0:
        start_lr, shape = config.warmup_start_lr, config.warmup_shape
        phases.append(
            Piece(PieceKind.WARMUP, 0, warmup, shape, start_lr, lr, shape_arguments(shape))
        )
    if family == "wsd" and config.cycles > 1:  # WSD-S: every cycle ends with its decay
        if branch is not None:
            field = (
                "cooldown_start"
                if config.cooldown_start_fraction is None
                else "cooldown_start_fraction"
            )
            raise ScheduleConfigError(
                f"{derived(config, prefix, 'cooldown_start', branch)} is invalid: a wsd schedule "
                f"with {prefix}cycles={config.cycles} decays at the end of each cycle, and a "
                "branched cooldown would cut them off; set only one of them",
                field=field,
            )
        return _kept([*phases, *wsd_cycle_pieces(config, prefix, warmup)], prefix, None)
    pieces = _main_pieces(config, prefix, warmup, main, end)
    at_branch = None
    if branch is not None:
        cooldown_from = value_at(tuple(pieces), tuple(p.start for p in pieces), branch)
        at_branch = next((p for p in pieces if p.start == branch and p.length != 0), None)
        pieces = _until(pieces, branch)
    elif cooldown > 0:
        assert total is not None  # a cooldown without the run length was refused above
        branch, cooldown_from = total - cooldown, pieces[-1].end_value
    phases += pieces
    if cooldown > 0:
        assert branch is not None and config.cooldown_shape is not None  # normalized
        shape = config.cooldown_shape
        phases.append(
            Piece(
                PieceKind.COOLDOWN,
                branch,
                cooldown,
                shape,
                cooldown_from,
                config.cooldown_lr,
                shape_arguments(shape),
            )
        )
    return _kept(phases, prefix, at_branch)


def _kept(phases: list[Piece], prefix: str, at_branch: Piece | None) -> Plan:
    """The plan: ``phases`` checked finite, without empty ones (a main phase of 0 steps)
    unless last: the value it holds."""
    _check_finite(phases, prefix)
    kept = tuple(p for i, p in enumerate(phases) if p.length != 0 or i == len(phases) - 1)
    return Plan(kept, at_branch)


def _check_finite(pieces: list[Piece], prefix: str) -> None:
    """A registered shape may be undefined for parameters that are finite numbers (``0 **
    -1``): each piece of a shape that is not built in must be finite where it starts and ends."""
    for piece in pieces:
        if piece.shape in BUILTIN_SHAPES:
            _check_slope(piece, prefix)
            continue
        for t in (0,) if piece.length is None else (0, piece.length):
            try:
                value = float(piece.value(HOST, t))
            except (ArithmeticError, ValueError):  # 0.0 ** -1.0, math.log(0.0)
                value = math.nan
            if math.isfinite(value):
                continue
            if piece.kind in (PieceKind.WARMUP, PieceKind.REWARMUP):
                field = "warmup_shape"
            elif piece.kind is PieceKind.COOLDOWN:
                field = "cooldown_shape"
            else:
                stage = f"stages[{piece.index}]." if piece.kind is PieceKind.STAGE else ""
                field = stage + ("shape_params" if piece.params else "name")
            raise ScheduleConfigError(
                f"{prefix}{field} is invalid: the {piece.shape} shape with "
                f"{dict(piece.params)} is {value} at step {piece.start + t} ({piece.name}); "
                "expected parameters for which it is finite",
                field=field,
            )


def _check_slope(piece: Piece, prefix: str) -> None:
    """The steepest slope of a piece (its shape's ``steepest``, ``shapes.py``) is one float32
    holds (with a margin of 2 for rounding): else ``jax.grad`` is infinite there, and NaN at
    the steps clamped to an end (``0 * inf``). A shape without one is not checked."""
    steepest = SHAPES[piece.shape].steepest
    slope = 0.0 if steepest is None else steepest(piece.coefficients)
    if slope < MAX_LR / 2:
        return
    field = {"polynomial": "power", "inverse_sqrt": "timescale"}.get(piece.shape, "lr")
    if piece.kind is PieceKind.STAGE:
        field = f"stages[{piece.index}]." + ("power" if field == "power" else "end")
    raise ScheduleConfigError(
        f"{prefix}{field} is invalid for the {piece.name} ({piece.shape} from "
        f"{piece.start_value!r} to {piece.end_value!r} over {piece.length} steps): its steepest "
        f"slope, {slope:.4g} per step, is past what float32 holds ({MAX_LR / 2:.4g}, with a "
        "margin), so its gradient would not be finite; use a smaller lr, a longer phase or a "
        "milder shape",
        field=field,
    )


def _check_branch(
    config: NormalizedConfig, prefix: str, warmup: int, cooldown: int, branch: int
) -> None:
    """The branch ``S`` lies after the warmup, and starts a cooldown of at least one step."""
    start = derived(config, prefix, "cooldown_start", branch)
    if branch < warmup:
        field = (
            "cooldown_start"
            if config.cooldown_start_fraction is None
            else "cooldown_start_fraction"
        )
        raise ScheduleConfigError(
            f"{start} is invalid: the cooldown starts after the warmup: expected a step >= "
            f"{derived(config, prefix, 'warmup_steps', warmup)}",
            field=field,
        )
    if cooldown == 0 and config.cooldown_fraction is not None:
        raise ScheduleConfigError(
            f"{start} with {prefix}cooldown_fraction="
            f"{config.cooldown_fraction!r} is invalid: that fraction of {prefix}decay_steps="
            f"{config.decay_steps} rounds to a cooldown of 0 steps, and a branched cooldown "
            "needs at least 1",
            field="cooldown_fraction",
        )
    if cooldown == 0:
        raise ScheduleConfigError(
            f"{start} with {prefix}cooldown_steps=0 is "
            f"invalid: a branched cooldown needs a length; set {prefix}cooldown_steps >= 1 (or "
            f"{prefix}cooldown_fraction)",
            field="cooldown_steps",
        )


def _until(pieces: list[Piece], step: int) -> list[Piece]:
    """``pieces`` up to ``step``: the one running there cut, a hold to it if they end before."""
    kept = []
    for piece in pieces:
        if piece.end is not None and piece.end <= step:
            kept.append(piece)
        elif piece.start < step:
            kept.append(piece.cut(step - piece.start))
            return kept
        else:
            return kept
    last = pieces[-1]
    if last.end is not None and last.end < step:
        value = last.end_value
        kept.append(Piece(PieceKind.HOLD, last.end, step - last.end, "constant", value, value))
    return kept


def _main_pieces(
    config: NormalizedConfig, prefix: str, start: int, length: int | None, end: float | None
) -> list[Piece]:
    """The main phase over ``[start, start + length)``: one piece, or the pieces it is made of
    (``length`` is ``None`` when the run's length is left open)."""
    family, lr = config.family, config.lr
    if family == "multistep":
        return milestone_pieces(config, prefix, start, length)
    if family == "stages":
        return stage_pieces(config, prefix, start, length)
    if family in ("constant", "wsd"):
        return [Piece(PieceKind.MAIN, start, length, "constant", lr, lr)]
    if end is not None:  # a decaying family: its shape over progress, to the end value
        assert length is not None  # a decaying family without the run length was refused
        return cycle_pieces(config, prefix, start, length, end)
    # A shape over steps (inverse_sqrt): from lr, for as long as the run; its end value is
    # where the run's length stops it.
    params = shape_arguments(family, config)
    piece = Piece(PieceKind.MAIN, start, length, family, lr, 0.0, params)
    if length is None:
        return [piece]
    reached = float(piece.value(HOST, length))
    return [dataclasses.replace(piece, end_value=reached)]
