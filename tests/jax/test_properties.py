"""Properties of every valid config, checked on generated examples (hypothesis).

On the valid configs of ``generators.configs`` the spec's invariants must hold:

- the values equal the independent float64 reference;
- they are finite, never negative, and within the learning rates the config names;
- host, NumPy, eager JAX and ``jax.vmap`` agree to float32 precision (``jax.jit``: in
  ``test_differential.py``, which compiles configs 50 to a program, on the same configs and
  the same extreme steps);
- a config rebuilt through JSON and ``from_dict``, or through YAML and Hydra's
  ``instantiate``, gives identical values;
- where phases meet, each phase's formula ends where the next one starts;
- after the warmup, nothing rises when every end value is at most the peak.

The "ci" profile (``tests/conftest.py``, the default) runs 500 examples per property;
``pytest tests/jax/test_properties.py --hypothesis-profile=thorough`` runs 20000.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
from hydra.utils import instantiate
from hypothesis import given
from omegaconf import OmegaConf

from hydra_optax_schedules import OPTION_CLASSES, SchedulerConfig, build_lr_scheduler
from hydra_optax_schedules.config import SCHEDULE_NAMES
from hydra_optax_schedules.shapes import HOST

from support.generators import STEPS_PER_EXAMPLE, build, configs, examples, reference
from support.lanes import default_lane_examples
from support.reference import reference_lr
from support.tolerance import (
    HOST_ATOL_PER_PEAK,
    float32_tolerance,
    host_tolerance,
    lengths,
    named_lrs,
)

# --- The properties -------------------------------------------------------------------------


@given(examples())
def test_values_equal_the_float64_reference(example):
    case, steps = example
    schedule = build(case)
    steps = steps + [s + 0.5 for s in steps]  # fractional steps follow the same formulas
    values = [schedule(s) for s in steps]
    assert all(type(value) is float for value in values)
    np.testing.assert_allclose(values, reference(case, steps), **host_tolerance(case, steps))


@given(examples())
def test_values_are_finite_non_negative_and_within_the_lrs_the_config_names(example):
    case, steps = example
    schedule = build(case)
    named = named_lrs(case, steps)
    slack = HOST_ATOL_PER_PEAK * max(named)
    for values in ([schedule(s) for s in steps], schedule(np.array(steps, dtype=np.int64))):
        values = np.asarray(values)
        assert np.all(np.isfinite(values))
        assert np.all(values >= 0.0)
        assert np.all(values >= min(named) - slack), (values.min(), named)
        assert np.all(values <= max(named) + slack), (values.max(), named)


@default_lane_examples(20)  # each example traces its program twice
@given(examples())
def test_host_numpy_eager_and_vmap_agree(example):
    case, steps = example
    schedule = build(case)
    want = reference(case, steps)
    host = np.array([schedule(s) for s in steps])
    vectorized = schedule(np.array(steps, dtype=np.int64))
    assert vectorized.dtype == np.float64
    for values in (host, vectorized):
        np.testing.assert_allclose(values, want, **host_tolerance(case, steps))

    on_device = jnp.asarray(np.array(steps, dtype=np.int32))
    tolerance = float32_tolerance(case, steps)
    paths = {"eager": schedule(on_device), "vmap": jax.vmap(schedule)(on_device)}
    for path, values in paths.items():
        assert values.dtype == jnp.float32 and values.shape == (STEPS_PER_EXAMPLE,), path
        values = np.asarray(values, dtype=np.float64)
        assert np.all(np.isfinite(values)) and np.all(values >= 0.0), path
        error = np.abs(values - want)
        worst = int(np.argmax(error - tolerance))
        assert np.all(error <= tolerance), (path, steps[worst], values[worst], want[worst])


@given(examples())
def test_json_and_hydra_round_trips_give_identical_values(example):
    case, steps = example
    original = build(case)
    values = [original(s) for s in steps]

    data = json.loads(json.dumps(SchedulerConfig(**case).to_dict()))
    from_json = build_lr_scheduler(SchedulerConfig.from_dict(SchedulerConfig, data))

    option_class = OPTION_CLASSES[SCHEDULE_NAMES[case["name"]]]
    fields = {f.name: case[f.name] for f in dataclasses.fields(option_class) if f.name in case}
    yaml_text = OmegaConf.to_yaml(OmegaConf.structured(option_class(**fields)))
    from_hydra = instantiate(OmegaConf.create(yaml_text))

    for rebuilt in (from_json, from_hydra):
        assert rebuilt.config == original.config
        assert [rebuilt(s) for s in steps] == values


@given(configs())
def test_each_phase_ends_where_the_next_one_starts(case):
    """Every shape is continuous: a phase's own formula, at its end, gives the value the next
    phase starts from, and the reference's value at that step; the last value holds."""
    schedule = build(case)
    phases = schedule.phases
    _, W, _ = lengths(case)
    tolerance = HOST_ATOL_PER_PEAK * max(named_lrs(case, [W + 10**9]))
    assert phases[0].start == 0
    for before, after in itertools.pairwise(phases):
        boundary = after.start
        assert before.end == boundary
        at_boundary = reference_lr(boundary, **case)
        assert math.isclose(before.value(HOST, before.length), at_boundary, abs_tol=tolerance)
        assert math.isclose(after.value(HOST, 0), at_boundary, abs_tol=tolerance)
    last = phases[-1]
    if last.end is not None:
        final = last.value(HOST, last.length)
        held = [schedule(last.end + k) for k in (0, 1, 10**6, 10**30)]
        assert all(math.isclose(value, final, abs_tol=tolerance) for value in held)


@given(examples(non_increasing=True))
def test_no_rise_after_the_warmup_when_every_end_value_is_at_most_the_peak(example):
    case, steps = example
    schedule = build(case)
    _, W, _ = lengths(case)
    after_warmup = sorted({s for s in steps if s >= W})
    values = [schedule(s) for s in after_warmup]
    slack = HOST_ATOL_PER_PEAK * max(named_lrs(case, steps))
    for (step, value), (later, later_value) in itertools.pairwise(
        zip(after_warmup, values, strict=True)
    ):
        assert later_value <= value + slack, (step, value, later, later_value)
