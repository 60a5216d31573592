"""Which fields a config sets to no effect, read from its plan: ``IgnoredFieldWarning``.

A field is *set* when it differs from its default (the family's, for a field the family
defaults); it has *no effect* when the schedule lacks what it shapes: an end value on a family
that does not decay to one, a shape's parameter off that shape, a warmup's start or shape
without a warmup (or, for the shape, a rewarmup), a cooldown's end or shape without a
cooldown, the shape of cycles without cycles, milestones off the multistep family, stages off
the stages family, a stage's ``power`` off a polynomial stage. ``decay_steps`` is the run's
length, a fact about the run rather than a setting, and is never listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hydra_optax_schedules.config.families import (
    decaying_families,
    default_for,
    family_shape,
    is_decaying,
    restarts,
)
from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.shapes import SHAPES

__all__ = ["ineffective_fields"]

Has = Callable[[NormalizedConfig, set[PieceKind]], bool]


def _decays(config: NormalizedConfig, kinds: set[PieceKind]) -> bool:
    return is_decaying(config.family)


def _restarts(config: NormalizedConfig, kinds: set[PieceKind]) -> bool:
    return restarts(config.family) and config.cycles > 1


def _shape_has(param: str) -> Has:
    def has(config: NormalizedConfig, kinds: set[PieceKind]) -> bool:
        shape = family_shape(config.family)
        return shape is not None and param in shape.params

    return has


def _family(name: str) -> Has:
    return lambda config, kinds: config.family == name


def _piece(*wanted: PieceKind) -> Has:
    return lambda config, kinds: bool(kinds & set(wanted))


def _needs() -> dict[str, tuple[str, Has]]:
    """Each field that shapes only part of some schedules: what it needs to have an effect,
    and whether a schedule has it."""
    decaying = f"a decaying family ({', '.join(decaying_families())})"
    return {
        "end_lr": (decaying, _decays),
        "end_lr_factor": (decaying, _decays),
        "power": (_with_param("power"), _shape_has("power")),
        "timescale": (_with_param("timescale"), _shape_has("timescale")),
        "warmup_start_lr": ("a warmup", _piece(PieceKind.WARMUP)),
        "warmup_shape": ("a warmup or a rewarmup", _piece(PieceKind.WARMUP, PieceKind.REWARMUP)),
        "cooldown_lr": ("a cooldown", _piece(PieceKind.COOLDOWN)),
        "cooldown_shape": ("a cooldown", _piece(PieceKind.COOLDOWN)),
        "cycle_mult": ("cycles > 1", _restarts),
        "cycle_decay": ("cycles > 1", _restarts),
        "rewarmup_steps": ("cycles > 1", _restarts),
        "rewarmup_fraction": ("cycles > 1", _restarts),
        "milestones": ("the multistep family", _family("multistep")),
        "milestone_fractions": ("the multistep family", _family("multistep")),
        "decay_factor": ("the multistep family", _family("multistep")),
        "stages": ("the stages family", _family("stages")),
    }


def _with_param(param: str) -> str:
    """``"the polynomial family"``: the families whose shape has ``param``."""
    families = [
        name for name, shape in SHAPES.items() if "family" in shape.roles and param in shape.params
    ]
    return f"the {' or '.join(families)} family"


def ineffective_fields(
    config: NormalizedConfig, pieces: tuple[Piece, ...]
) -> dict[str, tuple[Any, str]]:
    """The fields of a normalized config set to a value that changes nothing in ``pieces``.

    Returns:
        Each such field (``"power"``, ``"stages[1].power"``) mapped to its value and to what
        it would need to have an effect.
    """
    kinds = {piece.kind for piece in pieces}
    defaults = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
    defaults["cooldown_shape"] = default_for(config.family, "cooldown_shape")
    ignored = {
        field: (getattr(config, field), needs)
        for field, (needs, has_it) in _needs().items()
        if getattr(config, field) != defaults[field] and not has_it(config, kinds)
    }
    if config.family == "stages":
        for j, stage in enumerate(config.stages or ()):
            if "power" not in SHAPES[stage.shape].params and stage.power != StageConfig.power:
                ignored[f"stages[{j}].power"] = (stage.power, "a polynomial stage")
    return ignored
