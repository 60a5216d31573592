"""Inputs as training code passes them: NumPy and JAX numbers, booleans, NaN, junk, extremes.

- NumPy and JAX scalars are numbers on every path (``SchedulerConfig``, mappings,
  ``instantiate`` with a runtime ``decay_steps``, ``load_schedule``, ``from_dict``).
- A boolean step is a ``TypeError``: a learning rate is a float.
- A NaN step gives NaN, as optax's schedules do; infinite steps are the extremes.
- ``load_schedule`` raises nothing but ``ScheduleConfigError`` on any data.
- Learning rates that float32 (the dtype under ``jit``) cannot hold are refused when built.
"""

from __future__ import annotations

import math
import warnings

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
    load_schedule,
)

from support.entry_paths import PATHS, RUNTIME_PATHS

PLAIN = {"lr": 1e-3, "name": "cosine", "decay_steps": 90, "warmup_fraction": 0.35}
NUMPY_AND_JAX = [
    (
        "numpy",
        {"lr": np.float32(1e-3), "decay_steps": np.int64(90), "warmup_fraction": np.float32(0.35)},
    ),
    (
        "numpy float64",
        {"lr": np.float64(1e-3), "decay_steps": np.uint32(90), "warmup_fraction": np.float64(0.35)},
    ),
    (
        "jax",
        {
            "lr": jnp.float32(1e-3),
            "decay_steps": jnp.int32(90),
            "warmup_fraction": jnp.float32(0.35),
        },
    ),
]


@pytest.mark.parametrize(("kind", "numbers"), NUMPY_AND_JAX, ids=[k for k, _ in NUMPY_AND_JAX])
def test_numpy_and_jax_scalars_are_numbers_on_every_path(kind, numbers):
    plain = build_lr_scheduler(SchedulerConfig(**PLAIN))
    fields = {**PLAIN, **numbers}
    built = {
        name: path.build(fields)
        for name, path in PATHS.items()
        # JSON, YAML and OmegaConf hold plain data only: the runtime paths below pass them
        if not path.plain_data
    }
    plain_node = {k: v for k, v in PLAIN.items() if k != "decay_steps"}
    for name, build in RUNTIME_PATHS.items():
        built[name] = build(plain_node, decay_steps=numbers["decay_steps"])
    built["instantiate lr"] = RUNTIME_PATHS["instantiate"](
        plain_node, lr=numbers["lr"], decay_steps=90
    )
    for path, schedule in built.items():
        assert schedule.config == plain.config, path
        assert type(schedule.config.decay_steps) is int, path
        assert schedule.phases[0].end == 32, path  # 0.35 * 90 = 31.5 rounds up


@pytest.mark.parametrize(
    "step",
    [True, False, np.True_, np.array([True, False]), jnp.array(True), jnp.array([False])],
    ids=["True", "False", "np.True_", "numpy bool array", "jax bool", "jax bool array"],
)
def test_a_boolean_step_is_a_type_error(step):
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="linear", decay_steps=10))
    with pytest.raises(TypeError, match="boolean"):
        schedule(step)
    with pytest.raises(TypeError, match="boolean"):
        jax.jit(schedule)(jnp.asarray(step))


SCHEDULES = [
    dict(name="constant"),
    dict(name="cosine", decay_steps=100, warmup_steps=10, cooldown_steps=10),
    dict(name="wsd", decay_steps=100),
    dict(name="inverse_sqrt", warmup_steps=5),
    dict(name="polynomial", decay_steps=100, power=0.5),
]


@pytest.mark.parametrize("fields", SCHEDULES, ids=[f["name"] for f in SCHEDULES])
def test_a_nan_step_gives_nan_and_infinite_steps_the_extremes(fields):
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, **fields))
    first, last = schedule(0), schedule(10**30)
    if fields["name"] == "inverse_sqrt":  # open-ended: lr * sqrt(tau / (tau + t)) -> 0
        last = 0.0
    assert math.isnan(schedule(math.nan))
    assert math.isnan(schedule(np.float64("nan")))
    steps = [math.nan, -math.inf, math.inf, 5.0]
    want = [math.nan, first, last, schedule(5)]
    np.testing.assert_array_equal(schedule(np.array(steps)), want)
    for path, run in {
        "eager": schedule,
        "jit": jax.jit(schedule),
        "vmap": jax.vmap(schedule),
    }.items():
        values = np.asarray(run(jnp.array(steps, dtype=jnp.float32)), dtype=np.float64)
        np.testing.assert_allclose(values, want, rtol=1e-6, err_msg=path)


JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400)])  # past a float (5000 digits: the examples below)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = st.sampled_from([*sorted(SchedulerConfig.__dataclass_fields__), "_target_", "other"])


@given(st.dictionaries(FIELDS, JUNK, max_size=6))
def test_load_schedule_raises_only_schedule_config_error_on_any_data(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schedule = load_schedule(data)
        except ScheduleConfigError:
            return
    assert math.isfinite(schedule(0))


def nested(depth):
    value = 1e-3
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [
        {"lr": nested(100_000)},
        "lr: " + "[" * 100_000 + "]" * 100_000,
        {"lr": 10**5000},
        {"lr": 1e-3, "decay_steps": 10**5000},
        "lr: 1" + "0" * 5000,
    ],
    ids=["deep list", "deep yaml", "huge int lr", "huge int steps", "huge yaml int"],
)
def test_load_schedule_refuses_deep_and_huge_values_with_a_config_error(data):
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(data)
    assert len(str(error.value)) < 400


@pytest.mark.parametrize("field", ["lr", "end_lr", "cooldown_lr", "warmup_start_lr"])
def test_a_learning_rate_beyond_float32_is_refused(field):
    fields = {
        "lr": 1.0,
        "name": "linear",
        "decay_steps": 10,
        "cooldown_steps": 2,
        "warmup_steps": 2,
    }
    fields[field] = 1e39
    with pytest.raises(ScheduleConfigError, match=f"{field}=1e\\+39 is invalid.*float32") as error:
        build_lr_scheduler(fields)
    assert error.value.field == field


def test_the_largest_float32_learning_rate_is_finite_under_jit():
    schedule = build_lr_scheduler(SchedulerConfig(lr=3.4e38, name="cosine", decay_steps=10))
    values = jax.jit(schedule)(jnp.arange(12))
    assert np.all(np.isfinite(np.asarray(values)))


def test_end_lr_factor_past_float32_is_refused():
    with pytest.raises(ScheduleConfigError, match="end_lr_factor") as error:
        build_lr_scheduler(
            SchedulerConfig(lr=1e38, name="linear", decay_steps=10, end_lr_factor=10.0)
        )
    assert error.value.field == "end_lr_factor"


def test_a_number_in_a_string_says_how_to_read_it_from_the_environment():
    with pytest.raises(ScheduleConfigError, match=r"not a string.*oc\.decode"):
        build_lr_scheduler({"lr": 1.0, "decay_steps": "100"})
