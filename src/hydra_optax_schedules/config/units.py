"""The ``units`` node checked: what a run counts, its batch size and its ramp.

Every number of the node is checked here, once, and every length and ramp point becomes an
exact whole number of the unit's *base count*: samples (``samples``, ``epochs``), tokens
(``tokens``) or steps. The map from a step to that count is :mod:`hydra_optax_schedules.plan.units`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hydra_optax_schedules.config.coerce import dataclass_values
from hydra_optax_schedules.config.schema import UnitsConfig
from hydra_optax_schedules.messages import both_set, invalid, missing, unknown_field
from hydra_optax_schedules.values import MAX_COUNT, MAX_STEPS, as_number

__all__ = ["LENGTHS", "MAX_RAMP", "UNITS", "UNIT_FIELDS", "BaseCounts", "normalize_units"]

#: The units a run may count in.
UNITS = ("steps", "samples", "tokens", "epochs")
#: The learning-rate scaling rules on a batch change, and the exponent of each.
SCALING = {"none": 0.0, "sqrt": 0.5, "linear": 1.0}
#: Every field of ``UnitsConfig``, in order.
UNIT_FIELDS = tuple(f.name for f in dataclasses.fields(UnitsConfig))
#: The lengths counted in the unit, and the field counted in steps that each one replaces.
LENGTHS = {
    "decay": "decay_steps",
    "warmup": "warmup_steps",
    "cooldown": "cooldown_steps",
    "cooldown_start": "cooldown_start",
}
#: The most points of a ramp: the package-wide limit on counts (a count field is work).
MAX_RAMP = MAX_COUNT


@dataclass(frozen=True)
class BaseCounts:
    """A checked ``units`` node, every count exact in the unit's base count.

    Attributes:
        config: The node with its values checked (a ``UnitsConfig``, for the schedule's config).
        unit: The unit.
        per_sample: Base counts per sample (``sequence_length`` for tokens, else 1; 0 for
            ``steps``, whose base count is the step itself).
        ramp: ``((point, batch_size), ...)``, the points in base counts, the first at 0.
        exponent: The exponent of ``lr_scaling`` (0 for none).
        lengths: Each length set (``"decay"``, ...) in base counts.
    """

    config: UnitsConfig
    unit: str
    per_sample: int
    ramp: tuple[tuple[int, int], ...]
    exponent: float
    lengths: dict[str, int]


def normalize_units(prefix: str, value: Any) -> BaseCounts:
    """Check the ``units`` node ``value`` (a ``UnitsConfig`` or a mapping of its fields);
    ``prefix`` names where the scheduler sits (``"scheduler."``)."""
    where = f"{prefix}units."
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclass_values(value)
    if not isinstance(value, Mapping):
        raise invalid(prefix, "units", value, f"expected a mapping of {', '.join(UNIT_FIELDS)}")
    for key in value:
        if key not in UNIT_FIELDS:
            raise unknown_field(where, key, UNIT_FIELDS, "units")
    node = UnitsConfig(**value)
    unit = node.unit
    if unit not in UNITS:
        raise invalid(where, "unit", unit, f"expected one of {', '.join(map(repr, UNITS))}")
    if node.lr_scaling not in SCALING:
        valid = f"expected one of {', '.join(map(repr, SCALING))}"
        raise invalid(where, "lr_scaling", node.lr_scaling, valid)
    sequence_length = _needed(where, node, "sequence_length", unit == "tokens", "tokens")
    samples_per_epoch = _needed(where, node, "samples_per_epoch", unit == "epochs", "epochs")
    per_sample = {"tokens": sequence_length or 0, "steps": 0}.get(unit, 1)
    per_unit = Fraction(samples_per_epoch or 1) if unit == "epochs" else Fraction(1)
    batch_size = None if node.batch_size is None else _whole(where, "batch_size", node.batch_size)
    if batch_size is not None and node.ramp is not None:
        raise both_set(where, "batch_size", batch_size, "ramp", node.ramp)
    if batch_size is not None:
        ramp: tuple[tuple[int, int], ...] = ((0, batch_size),)
    elif node.ramp is not None:
        ramp = _ramp(where, node.ramp, per_unit)
    elif unit != "steps" or node.lr_scaling != "none":
        why = f"unit={unit!r} and lr_scaling={node.lr_scaling!r} need the samples per step"
        raise missing(where, "batch_size", f"{why}; set batch_size, or ramp")
    else:
        ramp = ()
    lengths = {}
    for name in LENGTHS:
        given = getattr(node, name)
        if given is None or (given == 0 and name in ("warmup", "cooldown")):
            continue
        if unit == "steps":
            raise invalid(where, name, given, f"with unit='steps', set {prefix}{LENGTHS[name]}")
        lengths[name] = _base(where, name, given, per_unit, at_least=0)
    checked = dataclasses.replace(
        node,
        batch_size=batch_size,
        sequence_length=sequence_length,
        samples_per_epoch=samples_per_epoch,
        ramp=None if node.ramp is None else tuple((_plain(p), b) for p, b in node.ramp),
    )
    return BaseCounts(checked, unit, per_sample, ramp, SCALING[node.lr_scaling], lengths)


def _needed(where: str, node: UnitsConfig, field: str, needed: bool, unit: str) -> int | None:
    """``field``, a whole number >= 1 if ``needed``; set without being needed, an error."""
    value = getattr(node, field)
    if value is None:
        if needed:
            raise missing(where, field, f"unit={unit!r} counts {unit}: set {field}")
        return None
    if not needed:
        raise invalid(where, field, value, f"it is read only with unit={unit!r}; leave it unset")
    return _whole(where, field, value)


def _whole(where: str, field: str, value: Any) -> int:
    number = as_number(value)
    if not isinstance(number, int) or not 1 <= number <= MAX_STEPS:
        raise invalid(where, field, value, "expected a whole number in [1, 2**63)")
    return number


def _base(where: str, field: str, value: Any, per_unit: Fraction, *, at_least: int) -> int:
    """``value`` in the unit as a whole base count (an epoch is ``per_unit`` samples)."""
    number = as_number(value)
    exact = None
    if number is not None and number == number and abs(number) != float("inf"):
        exact = Fraction(repr(number)) * per_unit  # 0.1 epochs is the decimal written
    if exact is None or exact.denominator != 1 or not at_least <= exact <= MAX_STEPS:
        what = "samples" if per_unit != 1 else "a whole count"
        raise invalid(where, field, value, f"expected {what} in [{at_least}, 2**63) of the unit")
    return int(exact)


def _plain(point: Any) -> Any:
    number = as_number(point)
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _ramp(where: str, ramp: Any, per_unit: Fraction) -> tuple[tuple[int, int], ...]:
    """``[[point, batch_size], ...]``: points strictly increasing from 0, at most MAX_RAMP."""
    if not isinstance(ramp, Sequence) or isinstance(ramp, (str, bytes)) or not ramp:
        raise invalid(where, "ramp", ramp, "expected a list of [point, batch_size] pairs")
    if len(ramp) > MAX_RAMP:
        raise invalid(where, "ramp", f"{len(ramp)} points", f"expected at most {MAX_RAMP}")
    pairs: list[tuple[int, int]] = []
    for i, pair in enumerate(ramp):
        if not isinstance(pair, Sequence) or isinstance(pair, (str, bytes)) or len(pair) != 2:
            raise invalid(where, f"ramp[{i}]", pair, "expected a pair [point, batch_size]")
        point = _base(where, f"ramp[{i}][0]", pair[0], per_unit, at_least=0)
        if i == 0 and point != 0:
            raise invalid(where, "ramp[0][0]", pair[0], "expected 0: the ramp starts the run")
        if pairs and point <= pairs[-1][0]:
            valid = f"expected a point after ramp[{i - 1}][0]={ramp[i - 1][0]!r}"
            raise invalid(where, f"ramp[{i}][0]", pair[0], valid)
        pairs.append((point, _whole(where, f"ramp[{i}][1]", pair[1])))
    return tuple(pairs)
