"""Properties of every valid config, checked on generated examples (hypothesis).

The generator builds valid configs of every family by construction, not by filtering: it
picks a name, a run length (or none, where the family allows it), phase lengths that fit,
then writes each length as steps or as a fraction that rounds to it, and draws the end
values, shapes and family parameters. On those configs the spec's invariants must hold:

- the values equal the independent float64 reference;
- they are finite, never negative, and within the learning rates the config names;
- host, NumPy, eager JAX, ``jax.jit`` and ``jax.vmap`` agree to float32 precision;
- a config rebuilt through JSON and ``from_dict``, or through YAML and Hydra's
  ``instantiate``, gives identical values;
- where phases meet, each phase's formula ends where the next one starts;
- after the warmup, nothing rises when every end value is at most the peak.

The "ci" profile (``tests/conftest.py``, the default) runs 500 examples per property;
``pytest tests/test_properties.py --hypothesis-profile=thorough`` runs 20000.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hydra.utils import instantiate
from hypothesis import event, given
from omegaconf import OmegaConf
from reference import FAMILIES, WSD_DEFAULT_COOLDOWN_FRACTION, reference_lr, resolve_lengths
from tolerance import (
    DECAYING,
    HOST_ATOL_PER_PEAK,
    float32_tolerance,
    host_tolerance,
    lengths,
    named_lrs,
)

from hydra_optax_schedules import OPTION_CLASSES, SchedulerConfig, build_lr_scheduler
from hydra_optax_schedules.config import COOLDOWN_SHAPES, SCHEDULE_NAMES, WARMUP_SHAPES
from hydra_optax_schedules.shapes import HOST

#: The fields of the families of ``schedule-semantics.md``; the composed ones have their own
#: property tests (test_cooldown_start.py, test_cycles.py, test_multistep.py, test_stages.py).
REFERENCE_FIELDS = tuple(inspect.signature(reference_lr).parameters)[1:]

MAY_BE_OPEN_ENDED = ("constant", "inverse_sqrt")  # without a cooldown, decay_steps may be None
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Every example evaluates this many steps, so the JAX arrays always have one shape and eager
# JAX reuses its compiled operations from one example to the next.
STEPS_PER_EXAMPLE = 64


# --- Generating valid configs ---------------------------------------------------------------


def short_or_any(draw, low, high):
    """An integer in [low, high], often one of the smallest (1-step phases are corners)."""
    return draw(st.integers(low, min(high, low + 2) if draw(st.booleans()) else high))


RUN_LENGTHS = st.one_of(st.integers(1, 30), st.integers(1, 10_000), st.integers(1, 10**9))


def warmup_fraction(draw, W, D):
    """A fraction whose warmup, ``round(f * D)``, is ``W`` steps: ``f * D`` in [W - 0.5, W + 0.5).

    Drawn as a position in that interval (bounded floats would retry in narrow intervals);
    where float rounding moves it across a half step, ``W / D`` is used instead.
    """
    low, high = max(0.0, (W - 0.5) / D), min(1.0, (W + 0.5) / D)
    fraction = min(low + draw(st.floats(0.0, 1.0)) * (high - low), 1.0)
    return fraction if resolve_lengths(D, warmup_fraction=fraction)[0] == W else W / D


def cooldown_by(draw, C, D, warmup_fraction):
    """``C`` as ``cooldown_steps``, or as a fraction that rounds to it: ``D - round((1 - f) * D)``
    is ``C`` for ``(1 - f) * D`` in [D - C - 0.5, D - C + 0.5). Fractions sum to at most 1."""
    if D > 0 and draw(st.booleans()):
        at_most = 1.0 if warmup_fraction is None else 1.0 - warmup_fraction
        low, high = max(0.0, (C - 0.5) / D), min(at_most, (C + 0.5) / D)
        drawn = min(low + draw(st.floats(0.0, 1.0)) * (high - low), at_most)
        for fraction in (drawn, C / D, at_most):
            fits = warmup_fraction is None or warmup_fraction + fraction <= 1
            if fits and resolve_lengths(D, cooldown_fraction=fraction)[1] == C:
                return {"cooldown_fraction": fraction}
    return {"cooldown_steps": C}


@st.composite
def configs(draw, non_increasing=False):
    """A valid config of any family, with every field (as ``SchedulerConfig.to_dict()``).

    With ``non_increasing``, every end value is at most the peak and the cooldown does not
    rise: ``E <= lr`` and ``cooldown_lr <= P``, the value where the cooldown starts.
    """
    name = draw(st.sampled_from(sorted(FAMILIES)))  # composed ones: test_cycles.py, ...
    family = SCHEDULE_NAMES[name]
    lr = draw(st.floats(1e-8, 1e3))
    case = SchedulerConfig(lr=lr, name=name).to_dict()
    case = {key: value for key, value in case.items() if key in REFERENCE_FIELDS}
    case["warmup_shape"] = draw(st.sampled_from(WARMUP_SHAPES))
    case["cooldown_shape"] = draw(st.sampled_from(COOLDOWN_SHAPES))
    if family == "polynomial":
        case["power"] = draw(st.floats(0.05, 8.0))
    if family == "inverse_sqrt":
        case["timescale"] = draw(st.floats(0.01, 1e6))

    if family in MAY_BE_OPEN_ENDED and draw(st.booleans()):
        case["decay_steps"] = None
        case["warmup_steps"] = draw(st.one_of(st.integers(0, 2), st.integers(0, 10**9)))
        event("decay_steps=None")
    else:
        D = draw(st.integers(0, 30) | RUN_LENGTHS if family in MAY_BE_OPEN_ENDED else RUN_LENGTHS)
        case["decay_steps"] = D
        main_at_least = 1 if family in DECAYING else 0
        wsd_default = family == "wsd" and D >= 3 and draw(st.booleans())
        if wsd_default:  # neither cooldown field: the family's 20% of the run
            C = resolve_lengths(D, cooldown_fraction=WSD_DEFAULT_COOLDOWN_FRACTION)[1]
        else:
            C = short_or_any(draw, 1 if family == "wsd" else 0, D - main_at_least)
        W = short_or_any(draw, 0, D - main_at_least - C)
        event(f"decay_steps={'<=30' if D <= 30 else '<=1e4' if D <= 10_000 else '<=1e9'}")

        fraction = warmup_fraction(draw, W, D) if D > 0 and draw(st.booleans()) else None
        if wsd_default and fraction is not None:  # the default cooldown is a fraction too
            fraction = fraction if fraction + WSD_DEFAULT_COOLDOWN_FRACTION <= 1 else None
        if fraction is None:
            case["warmup_steps"] = W
        else:
            case["warmup_fraction"] = fraction
        if not wsd_default:
            case.update(cooldown_by(draw, C, D, case["warmup_fraction"]))
        event(f"warmup by {'fraction' if case['warmup_fraction'] is not None else 'steps'}")
        event(f"cooldown by {'fraction' if case['cooldown_fraction'] is not None else 'steps'}")

    D, W, C = lengths(case)
    if family in DECAYING:
        factor = draw(st.floats(0.0, 1.0 if non_increasing else 4.0))
        end = draw(st.sampled_from(["end_lr", "end_lr_factor", "both", ""]))
        if family == "exponential":  # it needs E > 0
            factor, end = max(factor, 1e-6), end or "end_lr_factor"
        if end == "end_lr":
            case["end_lr"] = factor * lr
        if end == "both":  # they need to agree only within rel_tol=1e-6
            nudge = draw(st.floats(-4e-7, 0.0 if non_increasing else 4e-7))
            case["end_lr"] = factor * lr * (1 + nudge)
        if end in ("end_lr_factor", "both"):
            case["end_lr_factor"] = factor
        event(f"E given as {end or 'neither'}")
    if W > 0 and draw(st.booleans()):
        case["warmup_start_lr"] = draw(st.floats(0.0, 2.0)) * lr
    if C > 0 and draw(st.booleans()):
        # P, the value where the cooldown starts, does not depend on cooldown_lr.
        top = reference_lr(D - C, **case) if non_increasing else 2.0 * lr
        case["cooldown_lr"] = draw(st.floats(0.0, 1.0)) * top
    event(f"name={name}")
    return case


@st.composite
def examples(draw, non_increasing=False):
    """A valid config and STEPS_PER_EXAMPLE int32 steps: every phase boundary, and anywhere."""
    case = draw(configs(non_increasing=non_increasing))
    D, W, C = lengths(case)
    end = D if D is not None else 2 * W + 100
    corners = [INT32_MIN, -1, 0, 1, W - 1, W, W + 1]
    corners += [end - C - 1, end - C, end - C + 1, end - 1, end, end + 1, INT32_MAX]
    corners = [min(max(s, INT32_MIN), INT32_MAX) for s in corners]
    far = 10
    near = STEPS_PER_EXAMPLE - len(corners) - far
    near_steps = st.integers(-5, min(2 * end + 5, INT32_MAX))
    far_steps = st.integers(INT32_MIN, INT32_MAX)
    return case, (
        corners
        + draw(st.lists(near_steps, min_size=near, max_size=near))
        + draw(st.lists(far_steps, min_size=far, max_size=far))
    )


def reference(case, steps):
    return np.array([reference_lr(s, **case) for s in steps])


def build(case):
    return build_lr_scheduler(SchedulerConfig(**case))


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


@given(examples())
def test_host_numpy_eager_jit_and_vmap_agree(example):
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
    paths = {
        "eager": schedule(on_device),
        "jit": jax.jit(schedule)(on_device),  # the one compilation of the example
        "vmap": jax.vmap(schedule)(on_device),
    }
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
