"""The exact map from a step to the count of a run's unit (samples or tokens), and back.

A run counts ``c(s)``, the samples (or tokens) consumed before step ``s``: with ``r_i``
samples (or tokens) per step from step ``S_i`` on (the batch size of ramp point ``i``, times
the sequence length for tokens), ``c`` is piecewise linear,

    c(s) = C_i + (s - S_i) * r_i    for S_i <= s < S_{i+1},

where ``S_0 = C_0 = 0`` and the step where ramp point ``P_i`` is reached is the first whose
count reaches it, in integers:

    S_i = S_{i-1} + ceil((P_i - C_{i-1}) / r_{i-1}),    C_i = C_{i-1} + (S_i - S_{i-1}) * r_{i-1}

(``C_i >= P_i``: a batch is never split; a point reached within the same step as the one
before it starts no segment of its own). The schedule is its plan, counted in the unit,
evaluated at ``c(s)``, times ``(b(s) / b_final) ** exponent`` for ``lr_scaling``. A run
counted in steps has ``c(s) = s``. The map's breakpoints are constants of the compiled
program: its size does not grow with the number of ramp points.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hydra_optax_schedules.config.normalize import NormalizedConfig, normalize
from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.config.units import LENGTHS, BaseCounts
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.evaluate.indexed import piece_index
from hydra_optax_schedules.messages import (
    both_set,
    counted_in_steps,
    invalid,
    needs_resume_step,
    resume_step_invalid,
    run_steps_invalid,
)
from hydra_optax_schedules.values import MAX_STEPS, as_number

__all__ = ["FEW_SEGMENTS", "StepUnits", "counted_config", "resume_in_unit", "step_units"]

#: Up to this many segments, JAX selects each segment's numbers (cheaper than gathers);
#: beyond, they are gathered after one table lookup: a program whose size is constant.
FEW_SEGMENTS = 8


@dataclass(frozen=True)
class StepUnits:
    """The map ``step -> count`` and ``step -> batch size`` of a run.

    Attributes:
        starts: ``S_i``, the first step of each segment (``S_0 = 0``), strictly increasing.
        counts: ``C_i``, the count consumed before ``S_i``.
        rates: ``r_i``, the count per step in the segment (1 for a run counted in steps).
        batches: ``b_i``, the batch size in the segment (``None`` if none is given).
        scales: ``(b_i / b_final) ** exponent``, the factor of the learning rate.
    """

    starts: tuple[int, ...]
    counts: tuple[int, ...]
    rates: tuple[int, ...]
    batches: tuple[int, ...] | None
    scales: tuple[float, ...]

    @property
    def scaled(self) -> bool:
        """Whether the learning rate is scaled anywhere (a factor other than 1)."""
        return any(scale != 1.0 for scale in self.scales)

    @property
    def identity(self) -> bool:
        """Whether the count is the step itself."""
        return all(rate == 1 for rate in self.rates) and self.counts == self.starts

    def segment(self, step: int) -> int:
        """The segment of a host step (``step >= 0``)."""
        low, high = 0, len(self.starts) - 1
        while low < high:  # the last start <= step
            middle = (low + high + 1) // 2
            low, high = (middle, high) if self.starts[middle] <= step else (low, middle - 1)
        return low

    def count_at(self, step: int) -> int:
        """``c(step)``, exactly (a negative step counts as 0)."""
        step = max(step, 0)
        i = self.segment(step)
        return self.counts[i] + (step - self.starts[i]) * self.rates[i]

    def step_at(self, count: int) -> int:
        """The first step whose count reaches ``count``: ``S_i + ceil((count - C_i) / r_i)``
        in the last segment with ``C_i <= count`` (exact; a count <= 0 is step 0)."""
        count = max(count, 0)
        i = max(j for j, start in enumerate(self.counts) if start <= count)
        return self.starts[i] + -(-(count - self.counts[i]) // self.rates[i])

    def batch_at(self, step: int) -> int:
        """The batch size at ``step``."""
        if self.batches is None:
            raise ValueError("the config gives no batch size (units.batch_size or units.ramp)")
        return self.batches[self.segment(max(step, 0))]

    def over(self, xp: Any, steps: Any) -> tuple[Any, Any]:
        """``(c, factor)`` over an array of steps: the count, in the default float type (float
        steps: theirs; a run counted in steps: the steps themselves), and the learning rate's
        factor (``None`` where it is 1 everywhere).

        Each step's segment is found once, for both, as a plan finds its pieces
        (:func:`~hydra_optax_schedules.evaluate.indexed.piece_index`: one table lookup and a
        comparison or two, whatever the number of ramp points; up to ``FEW_SEGMENTS``, each
        segment's numbers are selected instead). The local step ``s - S_i`` is computed in
        the steps' integer type (exact), and only then converted; segments starting past that
        type's largest value are left out.
        """
        integer = xp.issubdtype(steps.dtype, xp.integer)
        float_dtype = xp.result_type(float) if integer else steps.dtype
        kept = len(self.starts)
        if integer:
            kept = sum(start <= int(xp.iinfo(steps.dtype).max) for start in self.starts)
            clamped = xp.maximum(steps, 0)
        else:
            clamped = xp.where(steps < 0, 0.0, steps).astype(float_dtype)
        bound = int if integer else float
        starts = tuple(bound(start) for start in self.starts[:kept])
        wanted = {"scale": (self.scales[:kept], float_dtype)} if self.scaled else {}
        if not self.identity:
            wanted["start"] = (starts, steps.dtype)
            wanted["count"] = (self.counts[:kept], float_dtype)
            wanted["rate"] = (self.rates[:kept], float_dtype)
        if kept == 1 or (kept <= FEW_SEGMENTS and xp.__name__ != "numpy"):  # a select

            def column(values: tuple[Any, ...], dtype: Any) -> Any:
                result = xp.asarray(values[0], dtype)
                for start, value in zip(starts[1:], values[1:], strict=True):
                    result = xp.where(clamped >= start, xp.asarray(value, dtype), result)
                return result

        else:
            index = piece_index(xp, clamped, list(self.starts[:kept]), bound, unrolled=False)

            def column(values: tuple[Any, ...], dtype: Any) -> Any:
                if len(set(values)) == 1:  # the same number in every segment: not gathered
                    return xp.asarray(values[0], dtype)
                return xp.asarray(values, dtype)[index]

        read = {name: column(values, dtype) for name, (values, dtype) in wanted.items()}
        counts = steps
        if not self.identity:
            local = (clamped - read["start"]).astype(float_dtype)
            counts = read["count"] + local * read["rate"]
        return counts, read.get("scale")


def step_units(base: BaseCounts) -> StepUnits:
    """The map of a checked ``units`` node (the formula of the module's docstring)."""
    if not base.ramp:
        return StepUnits((0,), (0,), (1,), None, (1.0,))
    final = base.ramp[-1][1]
    starts, counts = [0], [0]
    rates: list[int] = []
    batches: list[int] = []
    for i, (point, batch) in enumerate(base.ramp):
        if i > 0:
            if base.per_sample == 0:  # counted in steps: the point is the step
                start, count = point, point
            else:
                steps = -(-(point - counts[-1]) // rates[-1])
                start, count = starts[-1] + steps, counts[-1] + steps * rates[-1]
            if start == starts[-1]:  # reached in the same step as the point before
                rates.pop()
                batches.pop()
            else:
                starts.append(start)
                counts.append(count)
        rates.append(base.per_sample * batch if base.per_sample else 1)
        batches.append(batch)
    scales = tuple((batch / final) ** base.exponent for batch in batches)
    return StepUnits(tuple(starts), tuple(counts), tuple(rates), tuple(batches), scales)


#: Step-counted fields without a twin in the unit, and the form that is not counted in steps.
_FRACTIONS = {
    "rewarmup_steps": "rewarmup_fraction",
    "milestones": "milestone_fractions",
}


def counted_config(
    config: NormalizedConfig, base: BaseCounts, units: StepUnits, prefix: str, run_steps: Any
) -> NormalizedConfig:
    """``config`` with its lengths counted in the unit's base count: the plan of the count.

    A field counted in steps is refused (naming it and its twin in the unit), and
    ``run_steps`` (a step count) is the run length ``c(run_steps)``.
    """
    unit = base.unit
    for twin, field in LENGTHS.items():
        value = getattr(config, field)
        if value not in (None, 0):
            raise counted_in_steps(prefix, field, value, unit, f"{prefix}units.{twin}")
    for field, fraction in _FRACTIONS.items():
        value = getattr(config, field)
        if value not in (None, 0):
            raise counted_in_steps(prefix, field, value, unit, f"{prefix}{fraction}")
    for i, stage in enumerate(config.stages or ()):
        if stage.steps is not None:
            field = f"stages[{i}].steps"
            twin = f"{prefix}stages[{i}].fraction"
            raise counted_in_steps(prefix, field, stage.steps, unit, twin)
    lengths: dict[str, Any] = {LENGTHS[name]: value for name, value in base.lengths.items()}
    if run_steps is not None:
        number = as_number(run_steps)
        if not isinstance(number, int) or not 1 <= number <= MAX_STEPS:
            raise run_steps_invalid(run_steps)
        length = units.count_at(number)
        given = lengths.get("decay_steps")
        if given is not None and given != length:
            raise ScheduleConfigError(
                f"{prefix}units.decay={base.config.decay!r} ({given} {_base_name(unit)}) and "
                f"run_steps={number} ({length} {_base_name(unit)} under the batch size) "
                f"disagree: leave {prefix}units.decay unset to take the run length",
                field="units.decay",
            )
        lengths["decay_steps"] = length
    counted = dataclasses.replace(config.as_config(), units=None, **lengths)
    return normalize(counted, prefix)


def resume_in_unit(
    config: SchedulerConfig, base: BaseCounts, units: StepUnits, prefix: str, resume_step: Any
) -> SchedulerConfig:
    """``config`` whose ``cooldown_start`` is ``"resume"``, under a unit other than steps: the
    branch point given as ``units.cooldown_start``, the count ``c(resume_step)`` in the unit
    (an epoch is ``samples_per_epoch`` samples: a count that is no decimal number of epochs
    is refused), so that the saved config counts in one unit."""
    if resume_step is None:
        raise needs_resume_step(prefix)
    step = as_number(resume_step)
    if not isinstance(step, int) or not 0 <= step <= MAX_STEPS:
        raise resume_step_invalid(resume_step)
    node = base.config
    if node.cooldown_start is not None:
        raise both_set(
            prefix,
            "cooldown_start",
            config.cooldown_start,
            "units.cooldown_start",
            node.cooldown_start,
        )
    count = units.count_at(step)
    value: int | float = count
    if node.samples_per_epoch is not None:
        epochs = Fraction(count, node.samples_per_epoch)
        value = int(epochs) if epochs.denominator == 1 else float(epochs)
        if Fraction(repr(value)) != epochs:
            raise invalid(
                prefix,
                "cooldown_start",
                config.cooldown_start,
                f"resume_step={step} is at {count} samples, {epochs} epochs, which no decimal "
                f"number of epochs gives; set {prefix}units.cooldown_start",
            )
    node = dataclasses.replace(node, cooldown_start=value)
    return dataclasses.replace(config, cooldown_start=None, units=node)


def _base_name(unit: str) -> str:
    return "samples" if unit == "epochs" else unit


def in_unit_names(error: ScheduleConfigError, prefix: str) -> ScheduleConfigError:
    """``error`` of the plan of the count, its fields named by their twins in the unit."""
    text = str(error)
    field = error.field
    for twin, step_field in LENGTHS.items():
        text = text.replace(f"{prefix}{step_field}=", f"{prefix}units.{twin}=")
        text = text.replace(f"set {prefix}{step_field} ", f"set {prefix}units.{twin} ")
        if field == step_field:
            field = f"units.{twin}"
    text = text.replace("must fit in decay_steps", "must fit in units.decay")
    return ScheduleConfigError(text, field=field)
