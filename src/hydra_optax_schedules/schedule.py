"""A scheduler config becomes a callable, validated learning-rate schedule.

JAX is imported only when a schedule is called on a JAX array (or a traced value), so
importing this module, and building a schedule, stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import warnings
from collections.abc import Mapping
from types import FrameType
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from hydra_optax_schedules.config import SchedulerConfig
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.shapes import CURVE_COEFFICIENTS, Phase, curve_value, value_at
from hydra_optax_schedules.validation import ineffective_fields, normalize, plan_phases

__all__ = ["Schedule", "build_lr_scheduler", "build_schedule"]

ConfigLike = SchedulerConfig | Mapping[str, Any]

_FIELDS = tuple(f.name for f in dataclasses.fields(SchedulerConfig))
# Keys that ``hydra.utils.instantiate`` reads itself; a mapping may carry them.
_HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")


class Schedule:
    """An optax-compatible learning-rate schedule: ``schedule(step) -> lr``.

    A small picklable object (not a closure), so it can travel to worker processes; its
    ``repr`` shows the config it was built from, and two schedules are equal when their
    configs are.

    ``step`` may be:

    - a Python ``int`` / ``float`` or a NumPy scalar: returns a Python ``float``, computed
      on the host without JAX (cheap enough to call every step for logging);
    - a NumPy array: returns a NumPy array of the same shape, ``float64`` for integer steps
      (float steps keep their float dtype);
    - a JAX array or a traced value (inside ``jit``, ``vmap``, or an optax optimizer): returns
      a JAX array of the default float dtype, the same shape as ``step``.

    Negative steps count as step 0; past ``decay_steps`` the final value holds; a NaN step
    gives NaN (as optax's schedules do). A boolean step is a ``TypeError``.

    The schedule is immutable: ``config`` is a frozen ``SchedulerConfig`` (normalized: "not
    given" is ``None``, family defaults filled in), and ``phases`` a tuple of frozen phases.
    """

    __slots__ = ("__weakref__", "_starts", "config", "phases")
    _starts: tuple[int, ...]
    config: SchedulerConfig
    phases: tuple[Phase, ...]

    def __init__(self, config: SchedulerConfig, *, field_prefix: str = "") -> None:
        """Validate ``config`` and plan its phases.

        Warns:
            IgnoredFieldWarning: Once, naming every field set to a value that has no effect
                on this schedule (e.g. ``end_lr`` on ``wsd``).

        Raises:
            ScheduleConfigError: The config does not describe a schedule; the message names
                the field, prefixed by ``field_prefix`` (e.g. ``"scheduler."``).
        """
        self._plan(config, field_prefix)
        ignored = ineffective_fields(self.config, self.phases)
        if ignored:
            settings = ", ".join(
                f"{field_prefix}{field}={value!r}" for field, (value, _) in ignored.items()
            )
            needs = "; ".join(f"{field} needs {needs}" for field, (_, needs) in ignored.items())
            verb = "has" if len(ignored) == 1 else "have"
            warnings.warn(
                f"{settings} {verb} no effect on this {self.config.name} schedule ({needs}); "
                "it is built as if unset",
                IgnoredFieldWarning,
                stacklevel=_stacklevel_outside_package(),
            )

    def _plan(self, config: SchedulerConfig, field_prefix: str = "") -> None:
        object.__setattr__(self, "config", normalize(config, field_prefix))
        object.__setattr__(self, "phases", plan_phases(self.config, field_prefix))
        object.__setattr__(self, "_starts", tuple(phase.start for phase in self.phases))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"cannot set {name!r}: a Schedule is immutable; build a new one, e.g. from "
            "dataclasses.replace(schedule.config, lr=...)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: a Schedule is immutable")

    def __call__(self, step: Any) -> Any:
        kind = type(step)
        if kind is int or kind is float:
            return self._at(step)
        numpy = sys.modules.get("numpy")  # a NumPy value implies NumPy is imported
        if numpy is not None and isinstance(step, (numpy.integer, numpy.floating)):
            return self._at(step.item())
        if numpy is not None and isinstance(step, numpy.ndarray):
            return self._over(numpy, _numeric(step))
        if kind is bool:
            raise TypeError("step=True/False is invalid: a step is a number, not a boolean")
        import jax.numpy as jnp

        return self._over(jnp, _numeric(jnp.asarray(step)))

    def _at(self, step: float) -> float:
        """The value at one host step, with Python floats and ``math`` functions."""
        if step != step:  # NaN
            return math.nan
        return value_at(self.phases, self._starts, step)

    def _over(self, xp: Any, steps: Any) -> Any:
        """The values over an array of steps.

        A schedule of a few phases (warmup, main, cooldown) evaluates each phase's formula
        over all steps and selects; one of many phases (cycles, milestones, stages) looks up
        each step's phase in a table and evaluates each curve once with the coefficients of
        the steps' phases gathered, so its cost does not grow with the number of phases. For
        integer steps, the local step is computed in the step's integer type (exact, no
        overflow) and only then converted to float. Phases that start beyond the
        largest representable step are left out.
        """
        integer = xp.issubdtype(steps.dtype, xp.integer)
        largest: float
        if integer:
            largest = int(xp.iinfo(steps.dtype).max)
            phases = [p for p in self.phases if p.start <= largest]
            float_dtype = xp.result_type(float)
        else:
            largest = math.inf
            phases = list(self.phases)
            float_dtype = steps.dtype
        # Bounds in the steps' own kind: a Python int past int32 would not convert under jit.
        bound = int if integer else float
        # Past the end of the last phase, its end value, exactly (t = length may round).
        final = self.phases[-1]
        holds = final.end is not None and final.end <= largest and final.curve != "constant"
        held = (final.end_value, bound(final.end)) if final.end is not None and holds else None
        if len(phases) <= _FEW_PHASES:
            lasts = [bound(largest if p.length is None else min(p.length, largest)) for p in phases]
            result = _each_phase(xp, steps, phases, lasts, bound, float_dtype, held)
        else:
            result = _indexed(xp, _within(xp, steps, phases[-1]), phases, bound, float_dtype)
            if held is not None:
                result = xp.where(steps < held[1], result, held[0])
        if not integer:
            result = xp.where(xp.isnan(steps), math.nan, result)
        return xp.broadcast_to(xp.asarray(result, dtype=float_dtype), steps.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.config == self.config

    def __hash__(self) -> int:
        return hash(dataclasses.astuple(self.config))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.config))


def _restore(cls: type[Schedule], config: SchedulerConfig) -> Schedule:
    """Unpickle a schedule: its config was checked, and warned about, when it was built."""
    schedule = cls.__new__(cls)
    schedule._plan(config)
    return schedule


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__):
        frame, level = frame.f_back, level + 1
    return level


#: Up to this many phases, every phase is evaluated and the step's selected: cheaper than a
#: search and gathers (XLA on CPU gathers one element at a time), and at parity with optax.
_FEW_PHASES = 4


def _each_phase(
    xp: Any,
    steps: Any,
    phases: list[Phase],
    lasts: list[Any],
    bound: Any,
    float_dtype: Any,
    held: tuple[float, Any] | None,
) -> Any:
    """Every phase's formula over all steps, each step taking its own phase's value (or
    ``held = (value, from_step)`` from that step on)."""
    result, after = held if held is not None else (None, None)
    for phase, last in zip(reversed(phases), reversed(lasts), strict=True):
        if phase.curve == "constant":
            value = phase.value(xp, None)
        else:
            local = xp.clip(steps - bound(phase.start), 0, last)
            value = phase.value(xp, local.astype(float_dtype))
        if result is not None:
            value = xp.where(steps < after, value, result)
        result, after = value, bound(phase.start)
    return result


def _indexed(xp: Any, steps: Any, phases: list[Phase], bound: Any, float_dtype: Any) -> Any:
    """Each step's phase looked up (:func:`_phase_index`), its start and coefficients
    gathered (:func:`_curve_columns`), and each curve evaluated once for all steps."""
    index = _phase_index(xp, steps, [p.start for p in phases], bound)

    def column(values: Any, dtype: Any) -> Any:
        if isinstance(values, tuple):
            return xp.asarray(values, dtype=dtype)[index]
        return xp.asarray(values, dtype=dtype)

    # A step is before the next phase's start, so within its own phase: only a step before
    # the first phase (negative) needs a clamp, and past the last, the caller holds its end.
    local = xp.maximum(steps - column(tuple(bound(p.start) for p in phases), steps.dtype), 0)
    local = local.astype(float_dtype)
    result = None
    for curve, coefficients, own in _curve_columns(tuple(phases)):
        gathered = {name: column(values, float_dtype) for name, values in coefficients.items()}
        value = curve_value(xp, curve, local, gathered)
        if result is not None:
            value = xp.where(column(own, bool), value, result)
        result = value
    return result


@functools.lru_cache(maxsize=64)
def _curve_columns(
    phases: tuple[Phase, ...],
) -> tuple[tuple[str, dict[str, Any], Any], ...]:
    """``(curve, coefficients, own)`` for each curve of ``phases``, the last one's first: the
    column of each coefficient the curve reads, and of whether a phase is the curve's own.

    A column holds one number per phase (XLA on CPU gathers single numbers many times faster
    than rows), or, if they all hold the same number, that number: it is not gathered.
    Phases of another curve get the coefficients of one of this curve's phases: a value
    discarded in the end, but finite, and so is its derivative. Computed once per schedule.
    """
    columns = []
    for curve in reversed(dict.fromkeys(p.curve for p in phases)):
        stand_in = next(p for p in phases if p.curve == curve).coefficients
        coefficients = {
            name: _one_or_each(
                [(p.coefficients if p.curve == curve else stand_in)[name] for p in phases]
            )
            for name in CURVE_COEFFICIENTS[curve]
        }
        columns.append((curve, coefficients, _one_or_each([p.curve == curve for p in phases])))
    return tuple(columns)


def _one_or_each(values: list[Any]) -> Any:
    """``values[0]`` if every value is it (bit for bit: -0.0 is not 0.0), else all of them."""
    return values[0] if len({repr(value) for value in values}) == 1 else tuple(values)


#: The most buckets in the table of :func:`_phase_index`.
_MAX_TABLE = 1 << 16


@functools.lru_cache(maxsize=64)
def _bucket_table(starts: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
    """``(width, table, extra)`` for :func:`_phase_index`: buckets of ``width`` steps (the
    shortest distance between two starts, widened to at most ``_MAX_TABLE`` buckets), the
    phase at each bucket's first step, and the most starts any bucket holds after it."""
    import numpy

    ends = numpy.asarray(starts, dtype=numpy.int64)
    width = max(int(numpy.diff(ends).min()), -(-starts[-1] // _MAX_TABLE))
    firsts = numpy.arange(starts[-1] // width + 1, dtype=numpy.int64) * width
    table = numpy.searchsorted(ends, firsts, side="right") - 1
    lasts = numpy.searchsorted(ends, firsts + (width - 1), side="right") - 1
    return width, tuple(table.tolist()), int((lasts - table).max())


def _phase_index(xp: Any, steps: Any, starts: list[int], bound: Any) -> Any:
    """Each step's phase: the last one whose start is ``<= step`` (the first before it).

    Steps fall into buckets of ``width`` steps; a table holds the phase at each bucket's first
    step, and a step is in that phase or, past their starts, in one of the ``extra`` next
    (at most one when ``width`` is the shortest phase): one lookup and ``extra`` comparisons,
    whatever the number of phases. Phases so unequal that a bucket would hold more starts
    than a binary search has levels are found by the binary search.

    Indices are unsigned, so that an index needs no wrap-around of negative values, and
    integer steps are divided as unsigned numbers once clamped (a plain division, not a
    floor).
    """
    count = len(starts)
    width, table, extra = _bucket_table(tuple(starts))
    if extra > math.log2(count):
        found = _searchsorted(xp, xp.asarray([bound(s) for s in starts], dtype=steps.dtype), steps)
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
        # Never past the last phase: a step at its dtype's largest value passes the sentinel.
        index = xp.minimum(index + (steps >= following[index]).astype(xp.uint32), count - 1)
    return index


def _searchsorted(xp: Any, starts: Any, steps: Any) -> Any:
    """How many of the sorted ``starts`` are ``<= steps``, elementwise: a binary search.

    Under JAX the search is unrolled (``log2`` of the number of phases levels, each a gather
    and a compare over all steps), which XLA fuses; its default loop is several times slower.
    """
    if xp.__name__ == "numpy":
        return xp.searchsorted(starts, steps, side="right")
    return xp.searchsorted(starts, steps, side="right", method="scan_unrolled")


def _within(xp: Any, steps: Any, last: Phase) -> Any:
    """Float ``steps``, those past the point where the value stops changing (the end of the
    ``last`` phase, or the start of a constant one) moved back to it: every formula, evaluated
    at every step, stays finite at an infinite step, and so does its derivative."""
    if xp.issubdtype(steps.dtype, xp.integer):
        return steps
    if last.end is not None:
        return xp.minimum(steps, float(last.end))
    if last.curve == "constant":
        return xp.minimum(steps, float(last.start))
    return steps


def _numeric(steps: Any) -> Any:
    """``steps`` if its dtype is a number's; a boolean array is a ``TypeError``."""
    if steps.dtype == bool:
        raise TypeError(
            f"steps of dtype {steps.dtype} are invalid: a step is a number, not a boolean"
        )
    return steps


def build_schedule(**fields: Any) -> Schedule:
    """Build a schedule from ``SchedulerConfig``'s fields given as keywords.

    This is the ``_target_`` of every option of Hydra's ``scheduler`` group, so
    ``instantiate(cfg.scheduler, decay_steps=n)`` fills in the run length at runtime.

    Raises:
        ScheduleConfigError: A field is unknown, missing or invalid.
    """
    return _build(fields, prefix="")


def build_lr_scheduler(scheduler_config: ConfigLike) -> Schedule:
    """Build learning rate schedule from config (xlstm-jax's entry point).

    Supports constant, linear, cosine decay, exponential decay, polynomial, inverse-sqrt,
    warmup-stable-decay, step decay (``multistep``) and any piecewise schedule (``stages``),
    all with warmup and cooldown, the decaying ones with restarts (``cycles``), every one with
    a cooldown branched off any step (``cooldown_start``); docs/semantics.md gives the value
    at every step.

    Args:
        scheduler_config: A ``SchedulerConfig``, an option of the ``scheduler`` group (e.g.
            ``OmegaConf.to_object(cfg.scheduler)``), a Hydra/OmegaConf ``DictConfig`` node, or
            a mapping with ``SchedulerConfig``'s keys (Hydra's ``_target_`` / ``_partial_`` are
            ignored).

    Returns:
        The schedule: an optax-compatible callable ``step -> lr``.

    Raises:
        ScheduleConfigError: The config is invalid; a ``DictConfig``'s fields are named by
            their full key, e.g. ``scheduler.decay_steps``.

    Example:
        >>> from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler
        >>> schedule = build_lr_scheduler(
        ...     SchedulerConfig(lr=1.0, name="linear", decay_steps=10, end_lr=0.0)
        ... )
        >>> schedule(5)
        0.5
    """
    if dataclasses.is_dataclass(scheduler_config) and not isinstance(scheduler_config, type):
        fields = dataclasses.fields(scheduler_config)
        return _build({f.name: getattr(scheduler_config, f.name) for f in fields}, prefix="")
    if isinstance(scheduler_config, DictConfig):
        key = scheduler_config._get_full_key(None)
        prefix = f"{key}." if key else ""
        try:
            values = OmegaConf.to_container(scheduler_config, resolve=True, throw_on_missing=True)
        except MissingMandatoryValue as error:
            raise ScheduleConfigError(
                f"{error.full_key} is missing (???): set it, e.g. {error.full_key}=...",
                field=str(error.key),
            ) from None
        assert isinstance(values, dict)  # a DictConfig's container is a dict
        return _build(cast("dict[str, Any]", values), prefix)
    if isinstance(scheduler_config, Mapping):
        return _build(dict(scheduler_config), prefix="")
    raise TypeError(
        "build_lr_scheduler expects a SchedulerConfig, a DictConfig or a mapping, "
        f"got {type(scheduler_config).__name__}"
    )


def _build(values: dict[str, Any], prefix: str) -> Schedule:
    """Check that ``values`` has exactly scheduler fields (Hydra's keys aside), then build."""
    values = {k: v for k, v in values.items() if k not in _HYDRA_KEYS}
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ScheduleConfigError(
            f"{prefix}{unknown[0]} is not a scheduler field; valid fields: {', '.join(_FIELDS)}",
            field=unknown[0],
        )
    if "lr" not in values:
        raise ScheduleConfigError(
            f"{prefix}lr is missing: the peak learning rate is required", field="lr"
        )
    return Schedule(SchedulerConfig(**values), field_prefix=prefix)
