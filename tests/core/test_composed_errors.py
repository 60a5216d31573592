"""Invalid composed configs: the whole message and the field of every ``ScheduleConfigError``.

The "Errors" section of ``composable-schedules.md``: every invalid value or combination of
the restarts (``cycles``, ``cycle_mult``, ``cycle_decay``, ``rewarmup_steps`` /
``rewarmup_fraction``), the branched cooldown (``cooldown_start``), step decay
(``milestones`` / ``milestone_fractions``, ``decay_factor``) and ``stages`` (each stage's
fields) is refused when the schedule is built, naming the field, its value and what would be
valid; and a composed field set where it has no effect warns (``IgnoredFieldWarning``).

Each table row is a config, the field named and the whole message, in which ``{p}`` stands
for the prefix of the config's Hydra key: every row is checked with none and with
``scheduler.``. This file imports no JAX, so that mutation testing (``.ci/mutation``) runs it;
``test_cycles.py``, ``test_multistep.py``, ``test_stages.py`` and ``test_cooldown_start.py``
check the values of valid configs, under ``jit`` too.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    Schedule,
    ScheduleConfigError,
    SchedulerConfig,
    StageConfig,
    build_lr_scheduler,
)

PREFIXES = ["", "scheduler."]
MAX_LR = float(np.finfo(np.float32).max)
STRING = ", not a string (from the environment: ${oc.decode:${oc.env:NAME}})"
STEPS = "expected a whole number of steps in [0, 2**63)"
#: ``cooldown_start`` takes a step, or "resume": the step the run resumed at.
START = f"{STEPS} or 'resume' (the resume step)"
COUNT = (
    "at most MAX_COUNT = 10000 cycles are accepted (a limit of hydra_optax_schedules.values, so "
    "that building, loading and previewing a schedule stays within seconds and well under 1 GB)"
)
FLOAT32 = "that float32 holds (from 1.175e-38 to 3.403e+38)"
FLOAT32_OR_0 = "that float32 holds (0, or from 1.175e-38 to 3.403e+38)"
NEEDS_LENGTH = (
    "needs the run length; set {p}decay_steps or pass run_steps=... to instantiate() / "
    "build_schedule()"
)
DECAYING = "a decaying family (linear, cosine, exponential, polynomial) or wsd"
STAGE_FIELDS = "steps, fraction, shape, start, end, power, shape_params"


def refusal(fields, prefix):
    """The message and field of the error that building ``fields`` raises."""
    with pytest.raises(ScheduleConfigError) as error:
        Schedule(SchedulerConfig(**fields), field_prefix=prefix)
    return str(error.value), error.value.field


def too_short(n, mult, length, why):
    return (
        f"{{p}}cycles={n} with {{p}}cycle_mult={mult} is invalid over a main phase of {length} "
        f"steps: {why}; every cycle needs at least 1 step"
    )


def no_step_to_decay(n, field, value, cycle, rewarmup):
    return (
        f"{{p}}cycles={n} with {{p}}{field}={value} is invalid: cycle 1 is {cycle} steps long, "
        f"and its rewarmup of {rewarmup} steps leaves no step to decay; use fewer cycles or a "
        "shorter rewarmup"
    )


def bad_peak(decay, n, i, peak, exponential=False):
    return (
        f"{{p}}cycle_decay={decay} is invalid with {{p}}cycles={n}: the peak of cycle {i}, "
        f"lr * cycle_decay ** {i} = {peak}, must be a learning rate > 0 {FLOAT32}"
        + (", and so must the ratio end / peak" if exponential else "")
    )


def only_decaying(n, name):
    return f"{{p}}cycles={n} is invalid: only {DECAYING} restarts; the {name} schedule has 1 cycle"


# --- 1. Restarts: a cosine schedule of 10 steps, unless the row says otherwise --------------

CYCLES = [
    ({"cycles": 0}, "cycles", "{p}cycles=0 is invalid: expected a whole number of cycles >= 1"),
    ({"cycles": -1}, "cycles", "{p}cycles=-1 is invalid: expected a whole number of cycles >= 1"),
    ({"cycles": 2.0}, "cycles", "{p}cycles=2.0 is invalid: expected a whole number of cycles >= 1"),
    (
        {"cycles": True},
        "cycles",
        "{p}cycles=True is invalid: expected a whole number of cycles >= 1",
    ),
    ({"cycles": "2"}, "cycles", "{p}cycles='2' is invalid: expected a whole number of cycles >= 1"),
    (
        {"cycles": None},
        "cycles",
        "{p}cycles=None is invalid: expected a whole number of cycles >= 1",
    ),
    ({"cycles": 2**63}, "cycles", f"{{p}}cycles=9223372036854775808, which is invalid: {COUNT}"),
    ({"cycles": 10001}, "cycles", f"{{p}}cycles=10001, which is invalid: {COUNT}"),
    ({"cycles": 10}, None, None),  # 1-step cycles
    ({"cycles": 11}, "cycles", too_short(11, 1.0, 10, "11 cycles do not fit in 10 steps")),
    (
        {"cycles": 8, "warmup_steps": 2, "cooldown_steps": 1},
        "cycles",
        too_short(8, 1.0, 7, "8 cycles do not fit in 7 steps"),
    ),
    (
        {"cycles": 4, "cycle_mult": 2.0, "decay_steps": 5},
        "cycles",
        too_short(4, 2.0, 5, "cycle 0 would be 0 steps long"),
    ),
    (
        {"cycles": 3, "cycle_mult": 0.25, "decay_steps": 6},
        "cycles",
        too_short(3, 0.25, 6, "cycle 2 would be 0 steps long"),
    ),
    (  # the shortest cycle would be 5 * 0.75 / 63 steps long (an estimate in floats)
        {"cycles": 3, "cycle_mult": 0.25, "decay_steps": 5},
        "cycles",
        too_short(3, 0.25, 5, "the shortest cycle would be less than a step long"),
    ),
    (  # 2 * 9 / 99 steps
        {"cycles": 2, "cycle_mult": 10.0, "decay_steps": 2},
        "cycles",
        too_short(2, 10.0, 2, "the shortest cycle would be less than a step long"),
    ),
    (  # 10 * 2 / 80 = 1/4 of a step: not refused by the estimate, but rounded to 0 steps
        {"cycles": 4, "cycle_mult": 3.0},
        "cycles",
        too_short(4, 3.0, 10, "cycle 0 would be 0 steps long"),
    ),
    (
        {"cycles": 8, "cycle_mult": 2.0},
        "cycles",
        too_short(8, 2.0, 10, "the shortest cycle would be less than a step long"),
    ),
    (
        {"cycles": 8, "cycle_mult": 0.5},
        "cycles",
        too_short(8, 0.5, 10, "the shortest cycle would be less than a step long"),
    ),
    ({"cycle_mult": 0}, "cycle_mult", "{p}cycle_mult=0 is invalid: expected a finite number > 0"),
    (
        {"cycle_mult": -1.0},
        "cycle_mult",
        "{p}cycle_mult=-1.0 is invalid: expected a finite number > 0",
    ),
    (
        {"cycle_mult": math.inf},
        "cycle_mult",
        "{p}cycle_mult=inf is invalid: expected a finite number > 0",
    ),
    (
        {"cycle_mult": "2"},
        "cycle_mult",
        "{p}cycle_mult='2' is invalid: expected a finite number > 0" + STRING,
    ),
    (
        {"cycle_decay": 0.0},
        "cycle_decay",
        "{p}cycle_decay=0.0 is invalid: expected a finite number > 0",
    ),
    (
        {"cycle_decay": math.nan},
        "cycle_decay",
        "{p}cycle_decay=nan is invalid: expected a finite number > 0",
    ),
    ({"cycles": 2, "lr": MAX_LR}, None, None),  # peaks of the largest float32
    ({"cycles": 3, "cycle_decay": 1e200}, "cycle_decay", bad_peak("1e+200", 3, 1, "1e+200")),
    (
        {"cycles": 2, "cycle_decay": 1.2, "lr": 3e38},
        "cycle_decay",
        bad_peak(1.2, 2, 1, "3.6e+38"),
    ),
    (  # cycle 1's peak is 1e-40: below float32's normal numbers (XLA flushes it to 0)
        {"cycles": 3, "cycle_decay": 1e-30, "lr": 1e-10},
        "cycle_decay",
        bad_peak("1e-30", 3, 1, repr(1e-10 * 1e-30)),
    ),
    (  # 1e-10 * 1e-320 underflows to 0
        {"cycles": 2, "cycle_decay": 1e-320, "lr": 1e-10},
        "cycle_decay",
        bad_peak("1e-320", 2, 1, "0.0"),
    ),
    (  # end / peak = 1e10 / 1e-30: past float32
        {"name": "exponential", "end_lr": 1e10, "cycles": 2, "cycle_decay": 1e-30},
        "cycle_decay",
        bad_peak("1e-30", 2, 1, "1e-30", exponential=True),
    ),
    (  # end / peak = 1e-20 / 1e30: below float32's normal numbers
        {"name": "exponential", "end_lr": 1e-20, "cycles": 2, "cycle_decay": 1e30},
        "cycle_decay",
        bad_peak("1e+30", 2, 1, "1e+30", exponential=True),
    ),
    ({"rewarmup_steps": -1}, "rewarmup_steps", f"{{p}}rewarmup_steps=-1 is invalid: {STEPS}"),
    ({"rewarmup_steps": 1.5}, "rewarmup_steps", f"{{p}}rewarmup_steps=1.5 is invalid: {STEPS}"),
    (
        {"rewarmup_fraction": 1.5},
        "rewarmup_fraction",
        "{p}rewarmup_fraction=1.5 is invalid: expected a number in [0, 1]",
    ),
    (
        {"rewarmup_fraction": -0.1},
        "rewarmup_fraction",
        "{p}rewarmup_fraction=-0.1 is invalid: expected a number in [0, 1]",
    ),
    ({"cycles": 2, "rewarmup_steps": 4}, None, None),  # 1 step left to decay
    (
        {"cycles": 2, "rewarmup_steps": 5},
        "cycles",
        no_step_to_decay(2, "rewarmup_steps", 5, 5, 5),
    ),
    (
        {"cycles": 2, "rewarmup_steps": 7},
        "cycles",
        no_step_to_decay(2, "rewarmup_steps", 7, 5, 7),
    ),
    (
        {"cycles": 3, "decay_steps": 12, "rewarmup_steps": 4},
        "cycles",
        no_step_to_decay(3, "rewarmup_steps", 4, 4, 4),
    ),
    (
        {"cycles": 2, "rewarmup_fraction": 1.0},
        "cycles",
        no_step_to_decay(2, "rewarmup_fraction", 1.0, 5, 5),
    ),
    (  # 0.9 * 5 = 4.5 rounds up to the whole cycle
        {"cycles": 2, "rewarmup_fraction": 0.9},
        "cycles",
        no_step_to_decay(2, "rewarmup_fraction", 0.9, 5, 5),
    ),
    (
        {"cycles": 2, "rewarmup_steps": 1, "rewarmup_fraction": 0.1},
        "rewarmup_fraction",
        "{p}rewarmup_steps=1 and {p}rewarmup_fraction=0.1 are both set: set only one of them",
    ),
    ({"name": "constant", "cycles": 2}, "cycles", only_decaying(2, "constant")),
    ({"name": "wsd", "cycles": 2}, None, None),  # WSD-S: 2 cycles of 5 steps, each decays 1
    ({"name": "inverse_sqrt", "cycles": 3}, "cycles", only_decaying(3, "inverse_sqrt")),
    (
        {"name": "multistep", "cycles": 2, "milestones": [5]},
        "cycles",
        only_decaying(2, "multistep"),
    ),
    (
        {"name": "stages", "cycles": 2, "stages": [{"steps": 10}]},
        "cycles",
        only_decaying(2, "stages"),
    ),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("fields", "field", "message"), CYCLES)
def test_invalid_restarts(fields, field, message, prefix):
    config = {"name": "cosine", "lr": 1.0, "decay_steps": 10, **fields}
    if message is None:  # valid: a limit of the rows around it
        Schedule(SchedulerConfig(**config), field_prefix=prefix)
        return
    assert refusal(config, prefix) == (message.replace("{p}", prefix), field)


# --- 2. A branched cooldown: a cosine schedule of 60 steps, a cooldown of 5 -----------------

BRANCHES = [
    ({"cooldown_start": 5, "warmup_steps": 5}, None, None),  # right after the warmup
    (
        {"cooldown_start": 4, "warmup_steps": 5},
        "cooldown_start",
        "{p}cooldown_start=4 is invalid: the cooldown starts after the warmup: expected a step "
        ">= {p}warmup_steps=5",
    ),
    ({"cooldown_start": -1}, "cooldown_start", f"{{p}}cooldown_start=-1 is invalid: {START}"),
    ({"cooldown_start": 2.5}, "cooldown_start", f"{{p}}cooldown_start=2.5 is invalid: {START}"),
    (
        {"cooldown_start": "10"},
        "cooldown_start",
        f"{{p}}cooldown_start='10' is invalid: {START}{STRING}",
    ),
    (
        {"cooldown_start": 10, "cooldown_steps": 0},
        "cooldown_steps",
        "{p}cooldown_start=10 with {p}cooldown_steps=0 is invalid: a branched cooldown needs a "
        "length; set {p}cooldown_steps >= 1 (or {p}cooldown_fraction)",
    ),
    (
        {"cooldown_start": 80, "warmup_steps": 70},
        "decay_steps",
        "{p}warmup_steps=70 > {p}decay_steps=60 is invalid: the warmup must fit in decay_steps "
        "(the cooldown branches off at cooldown_start)",
    ),
    (
        {"cooldown_start": 60, "warmup_steps": 60},
        "decay_steps",
        "{p}decay_steps=60 - {p}warmup_steps=60 = 0 is invalid: the cosine schedule needs a main "
        "phase of at least one step",
    ),
    (
        {"cooldown_start": 30, "cooldown_steps": 0, "cooldown_fraction": 0.005},
        "cooldown_fraction",
        "{p}cooldown_start=30 with {p}cooldown_fraction=0.005 is invalid: that fraction of "
        "{p}decay_steps=60 rounds to a cooldown of 0 steps, and a branched cooldown needs at "
        "least 1",
    ),
    (
        {"decay_steps": None, "cooldown_start": 30},
        "decay_steps",
        "{p}decay_steps=None is invalid: the cosine schedule " + NEEDS_LENGTH,
    ),
    (
        {"decay_steps": None, "cooldown_start": 30, "cooldown_steps": 0, "cooldown_fraction": 0.1},
        "decay_steps",
        "{p}decay_steps=None is invalid: {p}cooldown_fraction=0.1 " + NEEDS_LENGTH,
    ),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("fields", "field", "message"), BRANCHES)
def test_invalid_branches(fields, field, message, prefix):
    config = {"name": "cosine", "lr": 1.0, "decay_steps": 60, "cooldown_steps": 5, **fields}
    if message is None:  # valid: a limit of the rows around it
        Schedule(SchedulerConfig(**config), field_prefix=prefix)
        return
    assert refusal(config, prefix) == (message.replace("{p}", prefix), field)


# --- 3. Step decay: multistep over 100 steps, a warmup of 5 and a cooldown of 10 ------------


def milestone_outside(field, value, where, step=None):
    return (
        f"{{p}}{field}={value} is invalid: expected a milestone step after the warmup and "
        f"before the cooldown, {where}" + ("" if step is None else f"; it is step {step}")
    )


def not_increasing(field, value, step, previous):
    return (
        f"{{p}}{field}={value} is invalid: milestones must be strictly increasing; it is step "
        f"{step}, after step {previous}"
    )


def bad_factor(factor, k, value):
    return (
        f"{{p}}decay_factor={factor} is invalid with {k} milestones: lr * decay_factor ** {k} = "
        f"{value} must be a learning rate > 0 {FLOAT32}"
    )


MILESTONES = [
    (
        {},
        "milestones",
        "{p}milestones=None and {p}milestone_fractions=None are both unset: the multistep "
        "schedule needs exactly one of them",
    ),
    (
        {"milestones": [10], "milestone_fractions": [0.5]},
        "milestones",
        "{p}milestones=(10,) and {p}milestone_fractions=(0.5,) are both set: the multistep "
        "schedule needs exactly one of them",
    ),
    (
        {"milestones": []},
        "milestones",
        "{p}milestones=() is invalid: expected at least one milestone",
    ),
    (
        {"milestone_fractions": []},
        "milestone_fractions",
        "{p}milestone_fractions=() is invalid: expected at least one milestone",
    ),
    ({"milestones": 10}, "milestones", "{p}milestones=10 is invalid: expected a list"),
    ({"milestones": "10,20"}, "milestones", "{p}milestones='10,20' is invalid: expected a list"),
    ({"milestones": b"10"}, "milestones", "{p}milestones=b'10' is invalid: expected a list"),
    (
        {"milestones": np.array([[10, 20]])},
        "milestones",
        "{p}milestones=array([[10, 20]]) is invalid: expected a list",
    ),
    ({"milestones": np.array([10, 20])}, None, None),  # a 1-d array is a list
    (
        {"milestones": np.array(10)},
        "milestones",
        "{p}milestones=array(10) is invalid: expected a list",
    ),
    ({"milestones": [10, 2.5]}, "milestones[1]", f"{{p}}milestones[1]=2.5 is invalid: {STEPS}"),
    ({"milestones": [10, -1]}, "milestones[1]", f"{{p}}milestones[1]=-1 is invalid: {STEPS}"),
    ({"milestones": [10, None]}, "milestones[1]", f"{{p}}milestones[1]=None is invalid: {STEPS}"),
    (
        {"milestones": [10, "20"]},
        "milestones[1]",
        f"{{p}}milestones[1]='20' is invalid: {STEPS}{STRING}",
    ),
    ({"milestones": [10, 10]}, "milestones[1]", not_increasing("milestones[1]", 10, 10, 10)),
    ({"milestones": [20, 10]}, "milestones[1]", not_increasing("milestones[1]", 10, 10, 20)),
    (
        {"milestones": [10, 30, 20]},
        "milestones[2]",
        not_increasing("milestones[2]", 20, 20, 30),
    ),
    ({"milestones": [5]}, "milestones[0]", milestone_outside("milestones[0]", 5, "in (5, 90)")),
    ({"milestones": [6, 89]}, None, None),  # the first and the last steps a milestone may be
    ({"milestones": [90]}, "milestones[0]", milestone_outside("milestones[0]", 90, "in (5, 90)")),
    (
        {"milestones": [10, 95]},
        "milestones[1]",
        milestone_outside("milestones[1]", 95, "in (5, 90)"),
    ),
    (
        {"milestones": [5], "decay_steps": None, "cooldown_steps": 0},
        "milestones[0]",
        milestone_outside("milestones[0]", 5, "> 5"),
    ),
    ({"milestones": [10], "decay_steps": None, "cooldown_steps": 0}, None, None),  # open-ended
    (
        {"milestones": [10], "decay_steps": None},
        "decay_steps",
        "{p}decay_steps=None is invalid: a cooldown " + NEEDS_LENGTH,
    ),
    (
        {"milestone_fractions": [0.5, 1.5]},
        "milestone_fractions[1]",
        "{p}milestone_fractions[1]=1.5 is invalid: expected a number in (0, 1)",
    ),
    (
        {"milestone_fractions": [0.5, 1.0]},
        "milestone_fractions[1]",
        "{p}milestone_fractions[1]=1.0 is invalid: expected a number in (0, 1)",
    ),
    (
        {"milestone_fractions": [0.0]},
        "milestone_fractions[0]",
        "{p}milestone_fractions[0]=0.0 is invalid: expected a number in (0, 1)",
    ),
    (
        {"milestone_fractions": [-0.5]},
        "milestone_fractions[0]",
        "{p}milestone_fractions[0]=-0.5 is invalid: expected a finite number >= 0",
    ),
    (
        {"milestone_fractions": [0.5, 0.501]},
        "milestone_fractions[1]",
        not_increasing("milestone_fractions[1]", 0.501, 50, 50),
    ),
    (  # 0.05 * 100 is step 5, the warmup's last
        {"milestone_fractions": [0.05]},
        "milestone_fractions[0]",
        milestone_outside("milestone_fractions[0]", 0.05, "in (5, 90)", step=5),
    ),
    (  # 0.055 * 100 = 5.5 rounds up to step 6
        {"milestone_fractions": [0.055, 0.894]},
        None,
        None,
    ),
    (  # 0.895 * 100 = 89.5 rounds up to step 90, the cooldown's first
        {"milestone_fractions": [0.5, 0.895]},
        "milestone_fractions[1]",
        milestone_outside("milestone_fractions[1]", 0.895, "in (5, 90)", step=90),
    ),
    (
        {"milestone_fractions": [0.5], "decay_steps": None, "cooldown_steps": 0},
        "decay_steps",
        "{p}decay_steps=None is invalid: {p}milestone_fractions " + NEEDS_LENGTH,
    ),
    (
        {"milestones": [10], "decay_factor": 0},
        "decay_factor",
        "{p}decay_factor=0 is invalid: expected a finite number > 0",
    ),
    (
        {"milestones": [10], "decay_factor": -0.1},
        "decay_factor",
        "{p}decay_factor=-0.1 is invalid: expected a finite number > 0",
    ),
    (
        {"milestones": [10, 20], "decay_factor": 1e300},
        "decay_factor",
        bad_factor("1e+300", 1, "1e+300"),
    ),
    ({"milestones": [10], "decay_factor": 1.0, "lr": MAX_LR}, None, None),  # the largest float32
    (
        {"milestones": [10], "decay_factor": 1.2, "lr": 3e38},
        "decay_factor",
        bad_factor(1.2, 1, "3.6e+38"),
    ),
    (  # lr * 1e30 is 1e30, lr * 1e30 ** 2 is past float32
        {"milestones": [10, 20], "decay_factor": 1e30},
        "decay_factor",
        bad_factor("1e+30", 2, repr(1e30**2)),
    ),
    (  # 1e-20 ** 2 is 1e-40: below float32's normal numbers (XLA flushes it to 0)
        {"milestones": [10, 20], "decay_factor": 1e-20},
        "decay_factor",
        bad_factor("1e-20", 2, "1e-40"),
    ),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("fields", "field", "message"), MILESTONES)
def test_invalid_milestones(fields, field, message, prefix):
    config = {
        "name": "multistep",
        "lr": 1.0,
        "decay_steps": 100,
        "warmup_steps": 5,
        "cooldown_steps": 10,
        **fields,
    }
    if message is None:  # valid: a limit of the rows around it
        Schedule(SchedulerConfig(**config), field_prefix=prefix)
        return
    assert refusal(config, prefix) == (message.replace("{p}", prefix), field)


# --- 4. Stages: a stages schedule of 100 steps (a main phase of 100) ------------------------


def bad_multiple(j, key, multiple, value):
    return (
        f"{{p}}stages[{j}].{key}={multiple} is invalid: lr * {key} = {value} must be a learning "
        "rate float32 holds (0, or from 1.175e-38 to 3.403e+38)"
    )


def not_exponential(j, key, value):
    return (
        f"{{p}}stages[{j}].{key}={value} is invalid: an exponential stage needs start and end > 0"
    )


def covers(covered, main):
    return (
        f"{{p}}stages cover {covered} steps, but the main phase has {main} (decay_steps - "
        "warmup_steps - cooldown_steps): the stages must cover it exactly"
    )


def rest_empty(covered, main):
    return (
        f"{{p}}stages before the last cover {covered} steps, and the main phase has {main}: the "
        "last stage, which takes the rest, would be empty"
    )


def neither(j):
    return (
        f"{{p}}stages[{j}] has neither steps nor fraction: only the last stage may take the rest "
        "of the main phase; set its steps or fraction"
    )


STAGES = [
    (
        {"stages": None},
        "stages",
        "{p}stages=None is invalid: expected a list of at least one stage (steps, shape, ...)",
    ),
    (
        {"stages": []},
        "stages",
        "{p}stages=() is invalid: expected a list of at least one stage (steps, shape, ...)",
    ),
    ({"stages": {"steps": 10}}, "stages", "{p}stages={'steps': 10} is invalid: expected a list"),
    (
        {"stages": ["cosine"]},
        "stages[0]",
        f"{{p}}stages[0]='cosine' is invalid: expected a mapping of stage fields ({STAGE_FIELDS})",
    ),
    (
        {"stages": [{"steps": 50}, StageConfig]},
        "stages[1]",
        "{p}stages[1]=<class 'hydra_optax_schedules.config.schema.StageConfig'> is invalid: "
        f"expected a mapping of stage fields ({STAGE_FIELDS})",
    ),
    (
        {"stages": [{"stpes": 100}]},
        "stages[0].stpes",
        "{p}stages[0].stpes is not a stage field; did you mean steps? valid fields: "
        f"{STAGE_FIELDS}",
    ),
    (
        {"stages": [StageConfig(steps=50), {"steps": 50, "shpe": "cosine"}]},
        "stages[1].shpe",
        "{p}stages[1].shpe is not a stage field; did you mean shape? valid fields: "
        f"{STAGE_FIELDS}",
    ),
    (
        {"stages": [{"steps": 0}]},
        "stages[0].steps",
        "{p}stages[0].steps=0 is invalid: expected a whole number of steps >= 1",
    ),
    (
        {"stages": [{"steps": -1}]},
        "stages[0].steps",
        f"{{p}}stages[0].steps=-1 is invalid: {STEPS}",
    ),
    (
        {"stages": [{"steps": 1.5}]},
        "stages[0].steps",
        f"{{p}}stages[0].steps=1.5 is invalid: {STEPS}",
    ),
    (
        {"stages": [{"steps": 50, "fraction": 0.5}]},
        "stages[0].fraction",
        "{p}stages[0].steps=50 and {p}stages[0].fraction=0.5 are both set: set only one of them",
    ),
    (
        {"stages": [{"fraction": 0}]},
        "stages[0].fraction",
        "{p}stages[0].fraction=0 is invalid: expected a number in (0, 1]",
    ),
    (
        {"stages": [{"fraction": 1.5}]},
        "stages[0].fraction",
        "{p}stages[0].fraction=1.5 is invalid: expected a number in (0, 1]",
    ),
    (  # 0.001 * 100 rounds to 0
        {"stages": [{"fraction": 0.001}]},
        "stages[0].fraction",
        "{p}stages[0].fraction=0.001 is invalid: it rounds to 0 steps of {p}decay_steps=100",
    ),
    (  # 0.005 * 100 = 0.5 rounds up to 1 step: the rest is 99
        {"stages": [{"fraction": 0.005}, {}]},
        None,
        None,
    ),
    (
        {"stages": [{"fraction": 0.5}], "decay_steps": None},
        "decay_steps",
        "{p}decay_steps=None is invalid: {p}stages[0].fraction " + NEEDS_LENGTH,
    ),
    (
        {"stages": [{"steps": 50, "shape": "cosin"}, {}]},
        "stages[0].shape",
        "{p}stages[0].shape='cosin' is invalid: expected one of 'constant', 'linear', 'cosine', "
        "'sqrt', 'exponential', 'polynomial'",
    ),
    (
        {"stages": [{"steps": 100, "start": -1}]},
        "stages[0].start",
        f"{{p}}stages[0].start=-1 is invalid: expected a number >= 0 {FLOAT32_OR_0}",
    ),
    (
        {"stages": [{"steps": 100, "start": 1e39}]},
        "stages[0].start",
        f"{{p}}stages[0].start=1e+39 is invalid: expected a number >= 0 {FLOAT32_OR_0}",
    ),
    (
        {"stages": [{"steps": 100, "end": math.nan}]},
        "stages[0].end",
        f"{{p}}stages[0].end=nan is invalid: expected a number >= 0 {FLOAT32_OR_0}",
    ),
    (
        {"stages": [{"steps": 100, "power": 0}]},
        "stages[0].power",
        f"{{p}}stages[0].power=0 is invalid: expected a finite number > 0 {FLOAT32}",
    ),
    (
        {"stages": [{"steps": 100, "shape": "exponential", "end": 0.0}]},
        "stages[0].end",
        not_exponential(0, "end", 0.0),
    ),
    (
        {"stages": [{"steps": 50}, {"steps": 50, "shape": "exponential", "start": 0.0}]},
        "stages[1].start",
        not_exponential(1, "start", 0.0),
    ),
    (  # the start defaults to the previous end
        {"stages": [{"steps": 50, "end": 0.0}, {"steps": 50, "shape": "exponential", "end": 0.1}]},
        "stages[1].start",
        not_exponential(1, "start", 0.0),
    ),
    (
        {"stages": [{"steps": 100, "shape": "constant", "end": 0.5}]},
        "stages[0].end",
        "{p}stages[0].end=0.5 is invalid: a constant stage holds its start (1.0); leave end "
        "unset, or use another shape",
    ),
    (
        {"stages": [{"steps": 100, "shape": "constant", "start": 0.5, "end": 0.25}]},
        "stages[0].end",
        "{p}stages[0].end=0.25 is invalid: a constant stage holds its start (0.5); leave end "
        "unset, or use another shape",
    ),
    (
        {"stages": [{"steps": 100, "end": 2e38}], "lr": 2.0},
        "stages[0].end",
        bad_multiple(0, "end", "2e+38", "4e+38"),
    ),
    (
        {"stages": [{"steps": 100, "start": 2e38, "end": 0.0}], "lr": 2.0},
        "stages[0].start",
        bad_multiple(0, "start", "2e+38", "4e+38"),
    ),
    (  # lr * end = the largest float32 exactly
        {"stages": [{"steps": 100, "end": 1.7014117331926443e38}], "lr": 2.0},
        None,
        None,
    ),
    ({"stages": [{}, {"steps": 10}]}, "stages[0].steps", neither(0)),
    (
        {"stages": [{"steps": 10}, {"shape": "cosine"}, {"steps": 10}]},
        "stages[1].steps",
        neither(1),
    ),
    ({"stages": [{"steps": 50}, {"steps": 40}]}, "stages", covers(90, 100)),
    ({"stages": [{"steps": 50}, {"steps": 60}]}, "stages", covers(110, 100)),
    (
        {"stages": [{"steps": 50}, {"fraction": 0.5}], "warmup_steps": 10, "cooldown_steps": 10},
        "stages",
        covers(100, 80),
    ),
    ({"stages": [{"steps": 100}, {}]}, "stages", rest_empty(100, 100)),
    ({"stages": [{"steps": 120}, {}]}, "stages", rest_empty(120, 100)),
    ({"stages": [{"steps": 99}, {}]}, None, None),  # a rest of 1 step
    (
        {"stages": [{"steps": 10}, {}], "decay_steps": None},
        "decay_steps",
        "{p}decay_steps=None is invalid: {p}stages[1] (the rest of the main phase) " + NEEDS_LENGTH,
    ),
    (
        {"stages": [{"steps": 10}], "decay_steps": None, "cooldown_steps": 5},
        "decay_steps",
        "{p}decay_steps=None is invalid: a cooldown " + NEEDS_LENGTH,
    ),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("fields", "field", "message"), STAGES)
def test_invalid_stages(fields, field, message, prefix):
    config = {"name": "stages", "lr": 1.0, "decay_steps": 100, **fields}
    if message is None:  # valid: a limit of the rows around it
        Schedule(SchedulerConfig(**config), field_prefix=prefix)
        return
    assert refusal(config, prefix) == (message.replace("{p}", prefix), field)


# --- Composed fields where they have no effect ---------------------------------------------

CYCLES_ONLY = "cycles > 1"


def ignored(settings, name, needs):
    verb = "has" if len(settings) == 1 else "have"
    return (
        f"{', '.join(settings)} {verb} no effect on this {name} schedule ({needs}); it is "
        "built as if unset"
    )


IGNORED = [
    (
        {"name": "cosine", "cycle_mult": 2.0},
        ignored(["cycle_mult=2.0"], "cosine", f"cycle_mult needs {CYCLES_ONLY}"),
    ),
    (
        {"name": "linear", "cycle_decay": 0.5, "rewarmup_steps": 3},
        ignored(
            ["cycle_decay=0.5", "rewarmup_steps=3"],
            "linear",
            f"cycle_decay needs {CYCLES_ONLY}; rewarmup_steps needs {CYCLES_ONLY}",
        ),
    ),
    (
        {"name": "exponential", "end_lr": 0.1, "rewarmup_fraction": 0.0},
        ignored(["rewarmup_fraction=0.0"], "exponential", f"rewarmup_fraction needs {CYCLES_ONLY}"),
    ),
    (
        {"name": "constant", "cycle_mult": 0.5, "cycle_decay": 2.0},
        ignored(
            ["cycle_mult=0.5", "cycle_decay=2.0"],
            "constant",
            f"cycle_mult needs {CYCLES_ONLY}; cycle_decay needs {CYCLES_ONLY}",
        ),
    ),
    (
        {"name": "wsd", "rewarmup_steps": 2, "rewarmup_fraction": 0.5},
        ignored(
            ["rewarmup_steps=2", "rewarmup_fraction=0.5"],
            "wsd",
            f"rewarmup_steps needs {CYCLES_ONLY}; rewarmup_fraction needs {CYCLES_ONLY}",
        ),
    ),
    (
        {"name": "cosine", "milestones": [5]},
        ignored(["milestones=(5,)"], "cosine", "milestones needs the multistep family"),
    ),
    (
        {"name": "stages", "stages": [{"steps": 10}], "milestone_fractions": [0.5]},
        ignored(
            ["milestone_fractions=(0.5,)"],
            "stages",
            "milestone_fractions needs the multistep family",
        ),
    ),
    (
        {"name": "constant", "decay_factor": 0.5},
        ignored(["decay_factor=0.5"], "constant", "decay_factor needs the multistep family"),
    ),
    (
        {"name": "cosine", "stages": [{"steps": 10}]},
        ignored(
            [
                "stages=(StageConfig(steps=10, fraction=None, shape='linear', start=None, "
                "end=None, power=2.0, shape_params=None),)"
            ],
            "cosine",
            "stages needs the stages family",
        ),
    ),
    (
        {"name": "multistep", "milestones": [5], "cycle_decay": 0.5, "stages": []},
        ignored(
            ["cycle_decay=0.5", "stages=()"],
            "multistep",
            f"cycle_decay needs {CYCLES_ONLY}; stages needs the stages family",
        ),
    ),
]


@pytest.mark.parametrize(("fields", "message"), IGNORED)
def test_composed_fields_without_effect_warn_once_with_what_they_need(fields, message):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=10, **fields))
    assert [(w.category, str(w.message)) for w in caught] == [(IgnoredFieldWarning, message)]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "cosine", "cycles": 2, "cycle_mult": 2.0, "cycle_decay": 0.5, "rewarmup_steps": 1},
        {"name": "polynomial", "cycles": 2, "rewarmup_fraction": 0.5},
        {"name": "multistep", "milestones": [5], "decay_factor": 0.5},
        {"name": "multistep", "milestone_fractions": [0.5]},
        {"name": "stages", "stages": [{"steps": 10}]},
        {"name": "cosine", "cooldown_start": 5, "cooldown_steps": 2},
        {"name": "cosine", "cycles": 1, "cycle_mult": 1.0, "decay_factor": 0.1},  # the defaults
    ],
)
def test_composed_fields_with_an_effect_or_at_their_default_do_not_warn(fields):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=10, **fields))
