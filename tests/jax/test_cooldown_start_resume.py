"""``cooldown_start: resume``: the cooldown branched off the step a run resumed at, given at
runtime (``resume_step=``) as the run length is (``run_steps=``), for every family.

Checked against the spec's float64 reference (``composed_reference.py``): the schedule built
with ``cooldown_start="resume"`` and ``resume_step=r`` is the spec's branched cooldown at
``S = r`` (host, NumPy, eager JAX, jit), starts from the value the run without the branch has
at ``r``, and has that run's every value up to ``r``; on every path that takes the run length
(``RESUME_PATHS``: a parameter group's own schedule included).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hydra_optax_schedules import build_lr_scheduler

from support.composed_checks import assert_matches_reference, steps_around
from support.composed_reference import composed_lr
from support.entry_paths import RESUME_PATHS

LR = 3e-3
D = 60
# (family's fields, W): every family (those of test_cooldown_start.py), a warmup of 0, 1, 5.
FAMILIES = [
    ({"name": "constant"}, 0),
    ({"name": "linear", "end_lr_factor": 0.1}, 5),
    ({"name": "cosine", "end_lr": 1e-4}, 1),
    ({"name": "cosine_decay"}, 5),
    ({"name": "exponential", "end_lr_factor": 0.01}, 5),
    ({"name": "polynomial", "end_lr_factor": 0.1, "power": 0.5}, 5),
    ({"name": "inverse_sqrt", "timescale": 20.0}, 5),
    ({"name": "wsd"}, 5),
    ({"name": "cosine", "cycles": 3, "rewarmup_steps": 4, "end_lr_factor": 0.1}, 5),
    ({"name": "multistep", "milestones": [20, 40], "decay_factor": 0.5}, 5),
    ({"name": "stages", "stages": [{"steps": 25, "shape": "cosine", "end": 0.2}, {}]}, 5),
]
# Resume steps: at the warmup's end, in the main phase, at a milestone, the run's last step,
# its end, past it.
RESUMES = [0, 5, 23, 40, 59, 60, 75]
COOLDOWN = {"cooldown_steps": 10, "cooldown_lr": 1e-5, "cooldown_shape": "cosine"}
CASES = [
    ({**family, "lr": LR, "warmup_steps": W}, r)
    for family, W in FAMILIES
    for r in sorted({max(W, r) for r in RESUMES})
]


def case_id(case):
    run, r = case
    return f"{run['name']}-W{run['warmup_steps']}-r{r}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_family_branches_off_the_resume_step_from_the_saved_runs_value(case):
    run, r = case
    with warnings.catch_warnings():  # a stage the branch cuts off: test_ignored_by_plan.py
        warnings.simplefilter("ignore")
        branched = build_lr_scheduler(
            {**run, "cooldown_start": "resume", **COOLDOWN}, run_steps=D, resume_step=r
        )
    # The spec's branched cooldown at S = r: on the host and NumPy, and once per family (a
    # resume step in the main phase) under JAX and jit too.
    spec = {**run, "decay_steps": D, "cooldown_start": r, **COOLDOWN}
    if r == 23:
        assert_matches_reference(spec, schedule=branched)
    else:
        steps = steps_around(spec)
        want = [composed_lr(s, **spec) for s in steps]
        np.testing.assert_allclose([branched(s) for s in steps], want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(branched(np.array(steps)), want, rtol=1e-12, atol=1e-15)
    assert branched.config.cooldown_start == r
    # Up to r, the values of the run without the branch (a saved run with no cooldown).
    saved = {**run, "decay_steps": D}
    if run["name"] == "wsd":  # its own cooldown starts at 48: the same up to there
        saved_values = [composed_lr(s, **saved) for s in range(min(r, 48) + 1)]
    else:
        saved_values = [composed_lr(s, **saved) for s in range(r + 1)]
    got = [branched(s) for s in range(len(saved_values))]
    np.testing.assert_allclose(got, saved_values, rtol=1e-12, atol=1e-15)
    # The cooldown starts from the value the run without a cooldown has at r, whatever the
    # family: the spec's P, computed as if there were no cooldown.
    no_cooldown = {**saved, "cooldown_start": r, "cooldown_steps": 1}
    assert branched(r) == pytest.approx(composed_lr(r, **no_cooldown), rel=1e-12, abs=1e-15)
    assert branched(r + 10) == pytest.approx(COOLDOWN["cooldown_lr"], rel=1e-12)


@pytest.mark.parametrize("path", sorted(RESUME_PATHS))
def test_every_path_that_takes_the_run_length_takes_the_resume_step(path):
    run = {"name": "cosine", "lr": LR, "warmup_steps": 5, "cooldown_steps": 10}
    spec = {**run, "decay_steps": D, "cooldown_start": 23}
    built = RESUME_PATHS[path]({**run, "cooldown_start": "resume"}, D, np.int64(23))
    assert built.config.cooldown_start == 23
    steps = list(range(D + 12))
    np.testing.assert_allclose(
        [built(s) for s in steps], [composed_lr(s, **spec) for s in steps], rtol=1e-12, atol=0
    )
    # Without cooldown_start: resume, the resume step changes nothing.
    plain = RESUME_PATHS[path]({**run, "cooldown_steps": 0}, D, 23)
    assert plain == build_lr_scheduler({**run, "cooldown_steps": 0}, run_steps=D)
