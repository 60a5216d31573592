"""Messages of IgnoredFieldWarning: exact text, one warning per build, at the caller's line.

Building such a schedule warns once, with ``IgnoredFieldWarning``, naming every such field,
its value and what it would need to have an effect, at the caller's line; the schedule is
built as if the field were unset. A field at its default (the family's, for
``cooldown_shape``) is not "set", and ``decay_steps`` is never listed.
"""

from __future__ import annotations

import warnings

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    SchedulerConfig,
    build_lr_scheduler,
    build_schedule,
)

DECAYING = "a decaying family (linear, cosine, exponential, polynomial)"


def warnings_of(**fields):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schedule = build_lr_scheduler(SchedulerConfig(**fields))
    return schedule, [w for w in caught if issubclass(w.category, IgnoredFieldWarning)]


def message_of(**fields):
    _, caught = warnings_of(**fields)
    assert len(caught) == 1
    return str(caught[0].message)


def test_the_warning_is_a_user_warning():
    assert issubclass(IgnoredFieldWarning, UserWarning)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            dict(name="wsd", end_lr=1e-5),
            f"end_lr=1e-05 has no effect on this wsd schedule (end_lr needs {DECAYING}); "
            "it is built as if unset",
        ),
        (
            dict(name="constant", end_lr_factor=0.1),
            f"end_lr_factor=0.1 has no effect on this constant schedule "
            f"(end_lr_factor needs {DECAYING}); it is built as if unset",
        ),
        (
            dict(name="linear", timescale=77.0, power=3.0),
            "power=3.0, timescale=77.0 have no effect on this linear schedule (power needs the "
            "polynomial family; timescale needs the inverse_sqrt family); it is built as if unset",
        ),
        (
            dict(name="cosine", warmup_start_lr=0.1, warmup_shape="cosine"),
            "warmup_start_lr=0.1, warmup_shape='cosine' have no effect on this cosine schedule "
            "(warmup_start_lr needs a warmup; warmup_shape needs a warmup or a rewarmup); it is "
            "built as if unset",
        ),
        (
            dict(name="inverse_sqrt", cooldown_lr=0.5, cooldown_shape="sqrt"),
            "cooldown_lr=0.5, cooldown_shape='sqrt' have no effect on this inverse_sqrt schedule "
            "(cooldown_lr needs a cooldown; cooldown_shape needs a cooldown); it is built as if "
            "unset",
        ),
        (
            dict(name="cosine_decay", power=0.5),
            "power=0.5 has no effect on this cosine_decay schedule (power needs the polynomial "
            "family); it is built as if unset",
        ),
        (
            dict(
                name="stages",
                power=3.0,
                stages=[
                    {"steps": 4, "shape": "polynomial", "power": 3.0},
                    {"steps": 6, "shape": "cosine", "end": 0.1, "power": 0.5},
                ],
            ),
            "power=3.0, stages[1].power=0.5 have no effect on this stages schedule (power needs "
            "the polynomial family; stages[1].power needs a polynomial stage); it is built as "
            "if unset",
        ),
    ],
)
def test_the_warning_names_each_field_its_value_and_what_it_needs(fields, message):
    assert message_of(lr=1.0, decay_steps=10, **fields) == message


@pytest.mark.parametrize(
    "fields",
    [
        dict(name="linear", end_lr=0.1, end_lr_factor=0.1),
        dict(name="polynomial", power=3.0),
        dict(name="inverse_sqrt", timescale=7.0),
        dict(name="constant", warmup_steps=2, warmup_start_lr=0.1, warmup_shape="cosine"),
        dict(name="constant", warmup_fraction=0.2, warmup_start_lr=0.1),
        dict(name="cosine", cooldown_steps=2, cooldown_lr=0.1, cooldown_shape="sqrt"),
        dict(name="wsd", cooldown_lr=0.1, cooldown_shape="linear"),  # wsd's default cooldown
        dict(name="wsd", cooldown_shape="sqrt"),  # wsd's default shape, as if unset
        dict(name="cosine", cooldown_shape="linear"),  # the default shape of every other family
        dict(name="constant", decay_steps=None, timescale=10000.0, power=2.0),  # the defaults
        dict(name="stages", stages=[{"steps": 10, "shape": "linear", "power": 2.0}]),  # default
    ],
)
def test_fields_that_shape_the_schedule_or_sit_at_their_default_do_not_warn(fields):
    _, caught = warnings_of(**{"lr": 1.0, "decay_steps": 10, **fields})
    assert caught == []


def test_the_schedule_is_built_as_if_the_field_were_unset():
    with_end, _ = warnings_of(lr=1.0, name="wsd", decay_steps=10, end_lr=0.3)
    without = build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=10))
    assert [with_end(s) for s in range(12)] == [without(s) for s in range(12)]


def test_hydra_nodes_name_the_field_by_its_full_key():
    node = OmegaConf.create({"scheduler": {"lr": 1.0, "name": "cosine", "decay_steps": 10}})
    node.scheduler.cooldown_shape = "sqrt"
    with pytest.warns(IgnoredFieldWarning) as caught:
        build_lr_scheduler(node.scheduler)
    assert str(caught[0].message).startswith(
        "scheduler.cooldown_shape='sqrt' has no effect on this cosine schedule"
    )


def test_the_warning_points_at_the_callers_line():
    with pytest.warns(IgnoredFieldWarning) as caught:
        build_schedule(lr=1.0, name="constant", power=3.0)  # this line
    assert caught[0].filename == __file__
    with open(__file__) as source:
        assert "# this line" in source.readlines()[caught[0].lineno - 1]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (  # the example: a branch inside the first of 4 cycles
            dict(
                name="cosine",
                decay_steps=100,
                cycles=4,
                cycle_decay=0.5,
                rewarmup_steps=5,
                cooldown_start=10,
                cooldown_steps=10,
            ),
            "cycle_decay=0.5, rewarmup_steps=5 have no effect on this cosine schedule "
            "(cycle_decay needs a cycle after the first before the cooldown branches off at step "
            "10; rewarmup_steps needs a cycle after the first before the cooldown branches off "
            "at step 10); it is built as if unset",
        ),
        (  # a branch where the warmup ends: no main phase at all
            dict(
                name="polynomial",
                decay_steps=100,
                power=3.0,
                end_lr_factor=0.1,
                warmup_steps=10,
                cooldown_start_fraction=0.1,
                cooldown_steps=10,
            ),
            "end_lr_factor=0.1, power=3.0 have no effect on this polynomial schedule "
            "(end_lr_factor needs a main phase before the cooldown branches off at step 10; "
            "power needs a main phase before the cooldown branches off at step 10); it is built "
            "as if unset",
        ),
        (
            dict(
                name="multistep",
                decay_steps=100,
                milestones=[30, 60, 90],
                cooldown_start=60,
                cooldown_steps=10,
            ),
            "milestones[2]=90 has no effect on this multistep schedule (milestones[2] needs a "
            "milestone step before the cooldown branches off at step 60); it is built as if unset",
        ),
        (
            dict(
                name="stages",
                decay_steps=100,
                stages=[{"steps": 40, "shape": "cosine", "end": 0.5}, {"shape": "constant"}],
                cooldown_start=40,
                cooldown_steps=10,
            ),
            "stages[1]={'shape': 'constant'} has no effect on this stages schedule (stages[1] "
            "needs a stage that starts before the cooldown branches off at step 40); it is built "
            "as if unset",
        ),
        (
            dict(name="constant", decay_steps=100, warmup_fraction=0.004),
            "warmup_fraction=0.004 has no effect on this constant schedule (warmup_fraction "
            "needs a fraction that rounds to at least 1 step of decay_steps=100); it is built "
            "as if unset",
        ),
    ],
)
def test_a_field_whose_pieces_the_plan_removed_warns(fields, message):
    assert message_of(lr=1.0, **fields) == message


@pytest.mark.parametrize(
    "fields",
    [
        # The branch is the first step of cycle 1: the cooldown starts from its peak.
        dict(name="linear", decay_steps=100, cycles=2, cycle_decay=0.5, cooldown_start=50),
        # ... of milestone 2: the cooldown starts from lr * decay_factor ** 2.
        dict(name="multistep", decay_steps=100, milestones=[30, 60], cooldown_start=60),
        # ... of a stage that jumps: the cooldown starts from its start.
        dict(
            name="stages",
            decay_steps=100,
            stages=[{"steps": 40}, {"start": 0.3, "shape": "constant"}],
            cooldown_start=40,
        ),
        dict(name="constant", warmup_fraction=0.0, cooldown_fraction=0.0, cooldown_steps=0),
    ],
)
def test_a_piece_the_cooldown_starts_from_and_a_fraction_of_0_do_not_warn(fields):
    _, caught = warnings_of(**{"lr": 1.0, "decay_steps": 100, "cooldown_steps": 10, **fields})
    assert caught == []
