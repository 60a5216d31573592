"""Errors that point to what the user meant: a fraction given to a field counted in steps
names the field that takes the fraction (``warmup_steps=0.05`` -> ``warmup_fraction``)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import ScheduleConfigError, build_lr_scheduler
from hydra_optax_schedules.config.coerce import SCHEDULER_FIELDS, STAGE_FIELDS

STEPS = "expected a whole number of steps in [0, 2**63)"
#: ``cooldown_start`` takes a step, or "resume": the step the run resumed at.
START = f"{STEPS} or 'resume' (the resume step)"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            dict(warmup_steps=0.05),
            f"warmup_steps=0.05 is invalid: {STEPS}; to give it as a fraction, set "
            "warmup_fraction=0.05",
        ),
        (
            dict(cooldown_steps=0.2),
            f"cooldown_steps=0.2 is invalid: {STEPS}; to give it as a fraction, set "
            "cooldown_fraction=0.2",
        ),
        (
            dict(cooldown_start=0.8, cooldown_steps=10),
            f"cooldown_start=0.8 is invalid: {START}; to give it as a fraction, set "
            "cooldown_start_fraction=0.8",
        ),
        (
            dict(name="cosine", cycles=2, rewarmup_steps=0.1),
            f"rewarmup_steps=0.1 is invalid: {STEPS}; to give it as a fraction, set "
            "rewarmup_fraction=0.1",
        ),
        (
            dict(name="multistep", milestones=[0.3, 0.6]),
            f"milestones[0]=0.3 is invalid: {STEPS}; to give them as fractions, set "
            "milestone_fractions instead",
        ),
        (
            dict(name="stages", stages=[{"steps": 0.5}, {}]),
            f"stages[0].steps=0.5 is invalid: {STEPS}; to give it as a fraction, set "
            "stages[0].fraction=0.5",
        ),
    ],
)
def test_a_fraction_given_to_a_steps_field_points_to_its_fraction_field(fields, message):
    config = {"lr": 1.0, "decay_steps": 100, **fields}
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(config)
    assert str(error.value) == message
    # From Hydra, both fields by their full key.
    node = OmegaConf.create({"scheduler": config}).scheduler
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(node)
    assert str(error.value) == "scheduler." + message.replace("set ", "set scheduler.")


@pytest.mark.parametrize("value", [1.5, 3.0, 0.0, 1.0, -0.5])
def test_a_number_that_is_no_fraction_gets_no_fraction_hint(value):
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"lr": 1.0, "decay_steps": 100, "warmup_steps": value})
    assert str(error.value) == f"warmup_steps={value!r} is invalid: {STEPS}"


def test_every_fraction_field_named_in_a_hint_is_a_field():
    from hydra_optax_schedules.config.schema import FRACTION_FIELDS, STAGE_FRACTION_FIELDS

    assert set(FRACTION_FIELDS) | set(FRACTION_FIELDS.values()) <= set(SCHEDULER_FIELDS)
    assert set(STAGE_FRACTION_FIELDS) | set(STAGE_FRACTION_FIELDS.values()) <= set(STAGE_FIELDS)
