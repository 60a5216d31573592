"""Which fields a config sets to no effect, read from its plan: ``IgnoredFieldWarning``.

A field is *set* when it differs from its default (the family's, for a field the family
defaults). It has *no effect* when the schedule lacks what it shapes, and that is read from
the plan, the pieces the schedule is made of:

- the family does not use it: an end value on a family that does not decay to one, a shape's
  parameter off that shape, restarts without ``cycles > 1``, milestones off the multistep
  family, stages off the stages family, a stage's ``power`` off a polynomial stage;
- the plan has no piece it shapes: a warmup's start or shape without a warmup (or, for the
  shape, a rewarmup), a cooldown's end or shape without a cooldown;
- the plan lost the pieces it shapes: a cooldown branched off (``cooldown_start``) before
  them (the main phase, the cycles after the first, a rewarmup, a milestone, a stage), or a
  fraction that rounds to a phase of 0 steps.

``decay_steps`` is the run's length, a fact about the run rather than a setting, and is never
listed.
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

Has = Callable[[NormalizedConfig], bool]


def _decays(config: NormalizedConfig) -> bool:
    return is_decaying(config.family)


def _restarts(config: NormalizedConfig) -> bool:
    return restarts(config.family) and config.cycles > 1


def _shape_has(param: str) -> Has:
    def has(config: NormalizedConfig) -> bool:
        shape = family_shape(config.family)
        return shape is not None and param in shape.params

    return has


def _family(name: str) -> Has:
    return lambda config: config.family == name


def _with_param(param: str) -> str:
    """``"the polynomial family"``: the families whose shape has ``param``."""
    families = [
        name for name, shape in SHAPES.items() if "family" in shape.roles and param in shape.params
    ]
    return f"the {' or '.join(families)} family"


def _family_rules() -> dict[str, tuple[str, Has]]:
    """Each field that only some families use: what it needs, and whether a config has it."""
    decaying = f"a decaying family ({', '.join(decaying_families())})"
    return {
        "end_lr": (decaying, _decays),
        "end_lr_factor": (decaying, _decays),
        "power": (_with_param("power"), _shape_has("power")),
        "timescale": (_with_param("timescale"), _shape_has("timescale")),
        "cycle_mult": ("cycles > 1", _restarts),
        "cycle_decay": ("cycles > 1", _restarts),
        "rewarmup_steps": ("cycles > 1", _restarts),
        "rewarmup_fraction": ("cycles > 1", _restarts),
        "milestones": ("the multistep family", _family("multistep")),
        "milestone_fractions": ("the multistep family", _family("multistep")),
        "decay_factor": ("the multistep family", _family("multistep")),
        "stages": ("the stages family", _family("stages")),
    }


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What a plan holds: its kinds of piece, the indices of each, and where a branched
    cooldown starts (``None`` without one)."""

    indices: dict[PieceKind, set[int | None]]
    own_shape: bool  # a piece of the family's own shape: its main phase or a cycle
    branch: int | None

    @classmethod
    def of(cls, config: NormalizedConfig, pieces: tuple[Piece, ...]) -> _Plan:
        indices: dict[PieceKind, set[int | None]] = {}
        for piece in pieces:
            indices.setdefault(piece.kind, set()).add(piece.index)
        own = any(
            piece.kind in (PieceKind.MAIN, PieceKind.CYCLE) and piece.shape == config.family
            for piece in pieces
        )
        branched = config.cooldown_start is not None or config.cooldown_start_fraction is not None
        starts = [piece.start for piece in pieces if piece.kind is PieceKind.COOLDOWN]
        return cls(indices, own, starts[0] if branched and starts else None)

    def has(self, *kinds: PieceKind, after_first: bool = False) -> bool:
        """Whether a piece of one of ``kinds`` is in the plan (of index >= 1 if
        ``after_first``: a cycle or rewarmup after the first cycle)."""
        found = set().union(*(self.indices.get(kind, set()) for kind in kinds))
        return any(i is not None and i >= 1 for i in found) if after_first else bool(found)

    def lost(self, what: str) -> str:
        """What a field needs that the plan has not: ``what``, before the branched cooldown
        (or of at least a step, without one)."""
        if self.branch is None:
            return f"{what} of at least 1 step"
        return f"{what} before the cooldown branches off at step {self.branch}"


def _plan_rules(config: NormalizedConfig, plan: _Plan) -> dict[str, tuple[str, bool]]:
    """Each field that shapes a part of the plan: what it needs, and whether the plan has it."""
    main = plan.lost("a main phase")
    # A WSD-S cycle may be all decay: its cooldown (numbered, unlike the run's one) counts.
    kept_cycles = plan.has(
        PieceKind.CYCLE, PieceKind.REWARMUP, PieceKind.COOLDOWN, after_first=True
    )
    cycled = plan.has(PieceKind.CYCLE) or kept_cycles
    rounds = "a fraction that rounds to at least 1 step"
    of_run = f"{rounds} of decay_steps={config.decay_steps}"
    rewarmup = plan.lost("a cycle after the first") if not kept_cycles else f"{rounds} of a cycle"
    return {
        "warmup_start_lr": ("a warmup", plan.has(PieceKind.WARMUP)),
        "warmup_shape": ("a warmup or a rewarmup", plan.has(PieceKind.WARMUP, PieceKind.REWARMUP)),
        "warmup_fraction": (of_run, plan.has(PieceKind.WARMUP)),
        "cooldown_lr": ("a cooldown", plan.has(PieceKind.COOLDOWN)),
        "cooldown_shape": ("a cooldown", plan.has(PieceKind.COOLDOWN)),
        "cooldown_fraction": (of_run, plan.has(PieceKind.COOLDOWN)),
        "end_lr": (main, plan.own_shape or plan.has(PieceKind.REWARMUP)),
        "end_lr_factor": (main, plan.own_shape or plan.has(PieceKind.REWARMUP)),
        "power": (main, plan.own_shape),
        "timescale": (main, plan.own_shape),
        "shape_params": (main, plan.own_shape),
        "cycles": (main, cycled),
        "cycle_mult": (main, cycled),
        "cycle_decay": (plan.lost("a cycle after the first"), kept_cycles),
        "rewarmup_steps": (plan.lost("a cycle after the first"), kept_cycles),
        "rewarmup_fraction": (rewarmup, plan.has(PieceKind.REWARMUP)),
        "decay_factor": (plan.lost("a milestone"), plan.has(PieceKind.MILESTONE)),
    }


def _defaults(config: NormalizedConfig) -> dict[str, Any]:
    """Each field's default: ``SchedulerConfig``'s, the family's, and for ``shape_params``
    the family shape's own defaults (which normalizing fills in)."""
    defaults = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
    defaults["cooldown_shape"] = default_for(config.family, "cooldown_shape")
    shape = family_shape(config.family)
    if shape is not None and config.shape_params is not None:
        defaults["shape_params"] = {key: shape.params[key] for key in config.shape_params}
    return defaults


def ineffective_fields(
    config: NormalizedConfig, pieces: tuple[Piece, ...], at_branch: Piece | None = None
) -> dict[str, tuple[Any, str]]:
    """The fields of a normalized config set to a value that changes nothing in its plan.

    Args:
        config: The config.
        pieces: Its plan's pieces.
        at_branch: The piece a branched cooldown starts at the first step of, which the
            pieces leave out (``Plan.at_branch``): the cooldown starts from its first value.

    Returns:
        Each such field (``"power"``, ``"stages[1].power"``, ``"milestones[2]"``) mapped to
        its value and to what it would need to have an effect.
    """
    defaults = _defaults(config)
    plan = _Plan.of(config, pieces)
    starts_cooldown = _first_value_fields(config, at_branch)
    ignored: dict[str, tuple[Any, str]] = {}
    for field, (needs, has_it) in _family_rules().items():
        if getattr(config, field) != defaults[field] and not has_it(config):
            ignored[field] = (getattr(config, field), needs)
    for field, (needs, present) in _plan_rules(config, plan).items():
        value = getattr(config, field)
        if field not in ignored and value != defaults[field] and not present:
            if field.endswith("_fraction") and not value:
                continue  # a fraction of 0 asks for no phase, and gets none
            ignored[field] = (value, needs)
    if config.family == "multistep":
        ignored.update(_lost_milestones(config, plan))
    if config.family == "stages":
        ignored.update(_stages(config, plan))
    kept = {field: why for field, why in ignored.items() if field not in starts_cooldown}
    return dict(sorted(kept.items(), key=lambda item: _order(item[0])))


def _first_value_fields(config: NormalizedConfig, piece: Piece | None) -> set[str]:
    """The fields that set the first value of ``piece``, the piece a branched cooldown starts
    at the first step of: the cooldown starts from that value, so they have an effect."""
    if piece is None or piece.index is None:
        return set()
    if piece.kind is PieceKind.CYCLE and piece.index >= 1:  # its peak
        return {"cycle_decay"}
    if piece.kind is PieceKind.REWARMUP:  # the end value, not the peak
        return {"rewarmup_steps", "rewarmup_fraction"}
    if piece.kind is PieceKind.MILESTONE:  # lr * decay_factor ** k
        field = "milestones" if config.milestones is not None else "milestone_fractions"
        return {"decay_factor", f"{field}[{piece.index - 1}]"}
    stages = config.stages or ()
    if piece.kind is PieceKind.STAGE and stages[piece.index].start is not None:  # a jump
        return {f"stages[{piece.index}]"}
    return set()


def _lost_milestones(config: NormalizedConfig, plan: _Plan) -> dict[str, tuple[Any, str]]:
    """``milestones[i]`` (or ``milestone_fractions[i]``) whose milestone the plan lost."""
    field = "milestones" if config.milestones is not None else "milestone_fractions"
    given = getattr(config, field) or ()
    kept = plan.indices.get(PieceKind.MILESTONE, set())
    needs = plan.lost("a milestone step")
    return {f"{field}[{i}]": (value, needs) for i, value in enumerate(given) if i + 1 not in kept}


def _stages(config: NormalizedConfig, plan: _Plan) -> dict[str, tuple[Any, str]]:
    """A stage the plan lost (its fields that are set), and a stage's ``power`` off a
    polynomial stage."""
    ignored: dict[str, tuple[Any, str]] = {}
    kept = plan.indices.get(PieceKind.STAGE, set())
    for j, stage in enumerate(config.stages or ()):
        if j not in kept:
            ignored[f"stages[{j}]"] = (_set_fields(stage), plan.lost("a stage that starts"))
        elif "power" not in SHAPES[stage.shape].params and stage.power != StageConfig.power:
            ignored[f"stages[{j}].power"] = (stage.power, "a polynomial stage")
    return ignored


def _set_fields(stage: StageConfig) -> dict[str, Any]:
    """A stage's fields that differ from their defaults, as the user would write them."""
    defaults = {f.name: f.default for f in dataclasses.fields(StageConfig)}
    shape = SHAPES[stage.shape]
    params = {k: v for k, v in (stage.shape_params or {}).items() if v != shape.params.get(k)}
    return {
        name: params if name == "shape_params" else getattr(stage, name)
        for name in defaults
        if (params if name == "shape_params" else getattr(stage, name) != defaults[name])
    }


_FIELD_ORDER = {f.name: i for i, f in enumerate(dataclasses.fields(SchedulerConfig))}


def _order(field: str) -> tuple[int, str]:
    """Fields in the config's order; a list's items after the list's field."""
    base = field.split("[", 1)[0].split(".", 1)[0]
    return _FIELD_ORDER.get(base, len(_FIELD_ORDER)), field
