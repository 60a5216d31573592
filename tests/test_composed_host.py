"""Composed schedules on the host and in NumPy, at every step, against the spec's reference.

The same configs as the JAX tests of ``test_cycles.py``, ``test_cooldown_start.py``,
``test_multistep.py`` and ``test_stages.py`` cover, evaluated without JAX: Python steps (the
host path, ``bisect`` over the pieces) and NumPy arrays (the array path, indexed for more
than a few pieces), against ``composed_reference.composed_lr`` at every step of each run and
past its end. This file imports no JAX, so that mutation testing (``.ci/mutation``) runs it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from composed_reference import composed_lr

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

STAGES_JUMP = (
    {"steps": 20, "shape": "linear", "start": 0.5, "end": 1.0},
    {"steps": 30, "shape": "cosine", "end": 0.2},
    {"fraction": 0.2, "shape": "exponential", "start": 0.4, "end": 0.01},
    {"steps": 15, "shape": "sqrt", "start": 0.3, "end": 0.05},
    {"shape": "polynomial", "start": 0.1, "end": 0.0, "power": 0.5},
)

CASES = {
    "sgdr": dict(name="cosine", decay_steps=120, cycles=4, cycle_mult=2.0, cycle_decay=0.5),
    "equal cycles, linear": dict(name="linear", decay_steps=100, cycles=5, end_lr_factor=0.1),
    "cycles with rewarmup steps": dict(
        name="cosine",
        decay_steps=150,
        warmup_steps=10,
        cycles=3,
        rewarmup_steps=7,
        warmup_shape="cosine",
        cooldown_steps=20,
        cooldown_lr=0.01,
    ),
    "cycles with a rewarmup fraction": dict(
        name="exponential",
        decay_steps=200,
        cycles=6,
        rewarmup_fraction=0.25,
        end_lr_factor=0.01,
        cycle_mult=1.5,
    ),
    "polynomial cycles": dict(name="polynomial", decay_steps=90, cycles=3, power=0.7),
    "branched cosine": dict(
        name="cosine",
        decay_steps=100,
        warmup_steps=5,
        cooldown_start=40,
        cooldown_steps=20,
        cooldown_shape="sqrt",
        end_lr_factor=0.1,
    ),
    "branched past the end": dict(
        name="linear",
        decay_steps=50,
        cooldown_start=70,
        cooldown_steps=10,
        cooldown_lr=0.3,
    ),
    "branched cycles": dict(
        name="cosine",
        decay_steps=100,
        cycles=4,
        cooldown_start=60,
        cooldown_fraction=0.1,
    ),
    "branched constant, open-ended": dict(
        name="constant",
        cooldown_start=30,
        cooldown_steps=12,
        cooldown_shape="cosine",
    ),
    "multistep": dict(name="multistep", decay_steps=100, milestones=(30, 60, 80)),
    "multistep fractions, cooldown": dict(
        name="multistep",
        decay_steps=101,
        milestone_fractions=(0.25, 0.5),
        decay_factor=0.5,
        warmup_steps=10,
        cooldown_steps=11,
    ),
    "multistep, many, open-ended": dict(
        name="multistep",
        milestones=tuple(range(10, 110, 10)),
        decay_factor=0.9,
    ),
    "stages with jumps and a rest": dict(name="stages", decay_steps=120, stages=STAGES_JUMP),
    "stages, warmup and cooldown": dict(
        name="stages",
        decay_steps=100,
        warmup_steps=10,
        cooldown_steps=10,
        stages=({"fraction": 0.5, "shape": "cosine", "end": 0.1}, {"shape": "constant"}),
    ),
    "stages, open-ended": dict(
        name="stages",
        stages=({"steps": 10, "end": 0.5}, {"steps": 10, "shape": "exponential", "end": 0.05}),
    ),
}


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_every_step_equals_the_reference(fields):
    fields = {"lr": 2e-3, **fields}
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    last = (fields.get("decay_steps") or 150) + 30
    steps = list(range(-2, last))
    want = np.array([composed_lr(step, **fields) for step in steps])
    tolerance = {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose([schedule(step) for step in steps], want, **tolerance)
    np.testing.assert_allclose(schedule(np.array(steps)), want, **tolerance)
    halves = [step + 0.5 for step in steps]
    want_halves = [composed_lr(step, **fields) for step in halves]
    np.testing.assert_allclose([schedule(step) for step in halves], want_halves, **tolerance)
    np.testing.assert_allclose(schedule(np.array(halves)), want_halves, **tolerance)


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_the_pieces_meet_where_the_reference_changes_piece(fields):
    """Each piece starts where the previous one ends, and holds the reference's value there."""
    fields = {"lr": 2e-3, **fields}
    phases = build_lr_scheduler(SchedulerConfig(**fields)).phases
    assert phases[0].start == 0
    for before, after in itertools.pairwise(phases):
        assert before.end == after.start
        assert after.start_value == pytest.approx(composed_lr(after.start, **fields), rel=1e-12)
