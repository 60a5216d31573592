"""Runs counted in samples, tokens or epochs, with a batch size or a ramp (docs/units.md).

The reference counts the tokens a run consumes step by step, in exact integers (a training
loop's own arithmetic, not the package's piecewise-linear map), and the schedule of that
count in exact fractions; every entry path must give it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydra_optax_schedules import ScheduleConfigError, build_lr_scheduler
from hydra_optax_schedules.plan.units import FEW_SEGMENTS
from hydra_optax_schedules.schedule import batch_size_at

from support.entry_paths import PATHS, RUN_LENGTH_PATHS


def consumed(step: int, ramp: list[list[int]], per_sample: int) -> tuple[int, int]:
    """``(count before step, batch at step)``: a loop that draws a batch per step, the batch
    the last ramp point its count has reached."""
    count = 0
    batch = ramp[0][1]
    for _ in range(step + 1):
        batch = [b for point, b in ramp if point <= count][-1]
        if _ == step:
            break
        count += batch * per_sample
    return count, batch


def linear_reference(count: int, lr: Fraction, warmup: int, decay: int) -> Fraction:
    """A linear warmup from 0 over ``warmup``, then linear to 0 at ``decay`` (exact)."""
    if count < warmup:
        return lr * count / warmup
    if count >= decay:
        return Fraction(0)
    return lr - lr * Fraction(count - warmup, decay - warmup)


RAMP = [[0, 2], [40, 4], [100, 8], [1000, 16]]
FIELDS = {
    "lr": 0.5,
    "name": "linear",
    "end_lr": 0.0,
    "units": {
        "unit": "tokens",
        "sequence_length": 4,
        "ramp": RAMP,
        "decay": 2000,
        "warmup": 64,
        "lr_scaling": "sqrt",
    },
}


def expected(step: int) -> float:
    count, batch = consumed(step, RAMP, 4)
    value = linear_reference(count, Fraction(1, 2), 64, 2000)
    return float(value) * math.sqrt(batch / 16)


@pytest.mark.parametrize("path", list(PATHS))
def test_a_token_ramp_is_the_loops_count_on_every_path(path):
    schedule = PATHS[path].build(FIELDS)
    steps = range(0, 160)
    want = [expected(s) for s in steps]
    assert [schedule(s) for s in steps] == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert schedule(np.arange(160)) == pytest.approx(want, rel=1e-12, abs=1e-15)
    got = jax.jit(schedule)(jnp.arange(160))
    assert np.asarray(got) == pytest.approx(want, rel=2e-6, abs=1e-7)
    batches = [consumed(s, RAMP, 4)[1] for s in steps]
    assert [schedule.batch_size_at(s) for s in steps] == batches


@pytest.mark.parametrize("path", list(RUN_LENGTH_PATHS))
def test_run_steps_is_the_count_at_that_step_on_every_path(path):
    fields = {**FIELDS, "units": {k: v for k, v in FIELDS["units"].items() if k != "decay"}}
    schedule = RUN_LENGTH_PATHS[path](fields, 100)
    end = consumed(100, RAMP, 4)[0]
    for step in (0, 10, 50, 99, 100, 101):
        count, batch = consumed(step, RAMP, 4)
        value = float(linear_reference(count, Fraction(1, 2), 64, end)) * math.sqrt(batch / 16)
        assert schedule(step) == pytest.approx(value, rel=1e-12, abs=1e-15)


def spread_ramp(points: int) -> list[list[int]]:
    """Points ever further apart: each segment's steps differ (a lookup, then a comparison)."""
    return [[0, 1]] + [[7 * i + i * i, 1 + i] for i in range(1, points)]


def crowded_ramp(points: int) -> list[list[int]]:
    """Half the points a token apart, then far apart: too many segment starts in one bucket
    of the lookup table, so the segment is found by the binary search."""
    return [[0, 1]] + [[i if i < points // 2 else i * 997, 1 + i] for i in range(1, points)]


@pytest.mark.parametrize(
    ("points", "layout"),
    [
        (FEW_SEGMENTS, spread_ramp),
        (FEW_SEGMENTS + 1, spread_ramp),
        (100, spread_ramp),
        (40, crowded_ramp),
        (2000, crowded_ramp),
    ],
)
def test_a_long_ramp_is_the_loops_count_under_jit_and_on_the_host(points, layout):
    ramp = layout(points)
    units = {"unit": "tokens", "sequence_length": 3, "ramp": ramp, "decay": 10**6}
    units |= {"warmup": 5000, "lr_scaling": "linear"}
    schedule = build_lr_scheduler({"lr": 2.0, "name": "linear", "end_lr": 0.0, "units": units})
    steps = range(0, 700, 3)
    want = []
    for step in steps:
        count, batch = consumed(step, ramp, 3)
        value = linear_reference(count, Fraction(2), 5000, 10**6) * Fraction(batch, points)
        want.append(float(value))
    assert [schedule(s) for s in steps] == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert schedule(np.asarray(list(steps))) == pytest.approx(want, rel=1e-12, abs=1e-15)
    got = np.asarray(jax.jit(schedule)(jnp.asarray(list(steps))))
    assert got == pytest.approx(want, rel=2e-6, abs=1e-7)
    floats = np.asarray(jax.jit(schedule)(jnp.asarray(list(steps), dtype=jnp.float32)))
    assert floats == pytest.approx(want, rel=2e-6, abs=1e-7)


def test_the_data_loader_reads_the_ramp_from_the_config():
    assert [batch_size_at(FIELDS, s) for s in range(12)] == [
        consumed(s, RAMP, 4)[1] for s in range(12)
    ]


@settings(deadline=None, max_examples=30)
@given(
    unit=st.sampled_from(["samples", "tokens", "epochs"]),
    batch=st.integers(1, 64),
    length=st.integers(1, 16),
    decay=st.integers(3, 400),
    warmup=st.integers(0, 400),
    name=st.sampled_from(["linear", "cosine", "wsd", "polynomial"]),
)
def test_a_constant_batch_is_the_step_schedule_with_lengths_divided_by_it(
    unit, batch, length, decay, warmup, name
):
    # Lengths given (not fractions of the run: a fraction in samples rounds to a sample, in
    # steps to a step); wsd's cooldown given too, for the same reason.
    warmup, cooldown = min(warmup, decay - 2), 1 if name == "wsd" else 0
    per_step = batch * length if unit == "tokens" else batch
    units: dict = {"unit": unit, "batch_size": batch}
    if unit == "tokens":
        units["sequence_length"] = length
    if unit == "epochs":  # an epoch of 2 steps' samples: lengths in half epochs
        units["samples_per_epoch"] = 2 * batch
        units |= {"decay": decay / 2, "warmup": warmup / 2, "cooldown": cooldown / 2}
    else:
        units |= {"decay": decay * per_step, "warmup": warmup * per_step}
        units |= {"cooldown": cooldown * per_step}
    counted = build_lr_scheduler({"lr": 1.0, "name": name, "units": units})
    stepped = build_lr_scheduler(
        {"lr": 1.0, "name": name, "decay_steps": decay, "warmup_steps": warmup}
        | {"cooldown_steps": cooldown}
    )
    steps = np.arange(decay + 3)
    assert [counted(int(s)) for s in steps] == pytest.approx(
        [stepped(int(s)) for s in steps], rel=1e-12, abs=1e-15
    )
    assert counted(steps) == pytest.approx(stepped(steps), rel=1e-12, abs=1e-15)


def _instructions(schedule, steps) -> int:
    text = jax.jit(schedule).lower(steps).compile().as_text()
    return len(re.findall(r"^\s*(?:ROOT )?%?\S+ = ", text, flags=re.MULTILINE))


def test_a_ramp_of_100_points_compiles_to_a_program_that_does_not_grow_with_points():
    def with_ramp(ramp):
        units = {"unit": "samples", "ramp": ramp, "decay": 10**10, "lr_scaling": "linear"}
        return build_lr_scheduler({"lr": 1.0, "name": "cosine", "units": units})

    steps = jnp.arange(64)
    stepped = build_lr_scheduler({"lr": 1.0, "name": "cosine", "decay_steps": 1000})
    # Up to FEW_SEGMENTS, a select per segment; past them, a table lookup and at most
    # log2(points) comparisons, or (a crowded ramp) a binary search in a loop: 10 000 points
    # compile to no more than 100 do, and any ramp to a constant more than steps (measured:
    # +100 for FEW_SEGMENTS selected, +37 for a table lookup).
    for layout in (spread_ramp, crowded_ramp, lambda n: [[i * 1000, 8 + i] for i in range(n)]):
        sizes = [_instructions(with_ramp(layout(n)), steps) for n in (9, 100, 10_000)]
        assert sizes[2] <= sizes[1]
        assert max(sizes) <= _instructions(stepped, steps) + 128
    # A constant batch: a multiply, and the plan evaluated at a float count (measured: +10).
    constant = build_lr_scheduler(
        {"lr": 1.0, "name": "cosine", "units": {"unit": "samples", "batch_size": 8, "decay": 8000}}
    )
    assert _instructions(constant, steps) <= _instructions(stepped, steps) + 16


@pytest.mark.parametrize(
    ("units", "extra", "message"),
    [
        (
            {"unit": "tokens", "sequence_length": 4, "ramp": RAMP},
            {"decay_steps": 100},
            "decay_steps=100 counts steps, but units.unit='tokens' counts the run in tokens",
        ),
        (
            {"unit": "samples", "batch_size": 8, "decay": 800},
            {"milestones": [10]},
            "set milestone_fractions instead",
        ),
        (
            {"unit": "tokens", "batch_size": 8, "decay": 800},
            {},
            "units.sequence_length is missing: unit='tokens' counts tokens",
        ),
        (
            {"unit": "samples", "batch_size": 8, "ramp": RAMP, "decay": 800},
            {},
            "units.batch_size=8 and units.ramp=",
        ),
        (
            {"unit": "samples", "ramp": [[5, 2]], "decay": 800},
            {},
            "units.ramp[0][0]=5 is invalid: expected 0",
        ),
        (
            {"unit": "samples", "ramp": [[0, 2], [0, 4]], "decay": 800},
            {},
            "units.ramp[1][0]=0 is invalid: expected a point after ramp[0][0]=0",
        ),
        (
            {"unit": "epochs", "batch_size": 8, "samples_per_epoch": 10, "decay": 0.15},
            {},
            "units.decay=0.15 is invalid: expected samples",
        ),
        (
            {"unit": "samples", "batch_size": 8, "decay": 800, "epochs": 3},
            {},
            "units.epochs is not a units field",
        ),
        (
            {"unit": "tokens", "sequence_length": 4, "batch_size": 2},
            {"name": "cosine"},
            "units.decay=None is invalid: the cosine schedule needs the run length; set "
            "units.decay or pass run_steps",
        ),
        (
            {"unit": "tokens", "sequence_length": 4, "batch_size": 2, "decay": 100, "warmup": 200},
            {},
            "units.warmup=200 + units.cooldown=0 > units.decay=100 is invalid: warmup and "
            "cooldown must fit in units.decay",
        ),
        (
            {"unit": "steps", "batch_size": 8, "decay": 800},
            {},
            "units.decay=800 is invalid: with unit='steps', set decay_steps",
        ),
    ],
)
def test_a_bad_units_node_is_an_error_naming_the_field(units, extra, message):
    paths = ("mapping", "DictConfig", "load_schedule(yaml)", "hydra option")
    for path in paths[:-1] if "epochs" in units and "unit" in units else paths:
        with pytest.raises(Exception) as error:
            PATHS[path].build({"lr": 1.0, "name": "linear", "units": units} | extra)
        cause = error.value.__cause__ if PATHS[path].hydra else error.value
        assert isinstance(cause, ScheduleConfigError), (path, cause)
        assert message in str(cause).replace("scheduler.", ""), (path, str(cause))


def test_a_ramp_too_long_is_refused_by_its_limit():
    from hydra_optax_schedules.config.units import MAX_RAMP

    ramp = [[i, 1] for i in range(MAX_RAMP + 1)]
    with pytest.raises(ScheduleConfigError, match=r"units\.ramp"):
        build_lr_scheduler({"lr": 1.0, "units": {"unit": "samples", "ramp": ramp}})


def test_lr_scaling_under_a_constant_batch_warns_that_it_has_no_effect():
    from hydra_optax_schedules import IgnoredFieldWarning

    units = {"unit": "samples", "batch_size": 4, "decay": 400, "lr_scaling": "sqrt"}
    with pytest.warns(IgnoredFieldWarning, match=r"units\.lr_scaling='sqrt' has no effect"):
        build_lr_scheduler({"lr": 1.0, "name": "linear", "units": units})
