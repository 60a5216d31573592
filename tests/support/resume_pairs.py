"""Generated pairs of configs for the resume-policy tests, and their classification by the
spec's reference (``reference.py``) evaluated step by step, never by the package's own
comparison: shared by ``tests/core/test_resume_policy.py`` (the main schedule) and
``tests/core/test_resume_groups.py`` (every schedule of a run)."""

from __future__ import annotations

import math
import warnings

import hypothesis.strategies as st
from hypothesis import assume, event

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler

from .generators import configs
from .reference import reference_lr
from .tolerance import lengths

#: Reference values this close (relative) are not told apart: two float64 formulations of one
#: number may differ in their last bits; a change of a config moves a value by far more.
CLOSE = 1e-9
SCALES = ("lr", "cooldown_lr", "warmup_start_lr")
MUTATED = ("decay_steps", "warmup_steps", "lr", "end_lr_factor", "cooldown_lr", "cooldown_steps")


def build(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a field without effect: not what is tested here
        return build_lr_scheduler(SchedulerConfig(**case))


@st.composite
def edited(draw, case):
    """``case`` with one field changed (or none, or all: an unrelated config)."""
    how = draw(st.sampled_from(["field", "field", "other", "field", "same"]))
    event(f"edit: {how}")
    if how == "same":
        return dict(case)
    if how == "other":
        return draw(configs())
    field = draw(st.sampled_from(MUTATED))
    changed = dict(case)
    D = case["decay_steps"]
    if field == "decay_steps":
        changed["decay_steps"] = draw(st.integers(1, 2 * (D or 100)))
    elif field in ("warmup_steps", "cooldown_steps"):
        changed[field] = draw(st.integers(0, D or 100))
        changed[field.replace("steps", "fraction")] = None
    elif field == "end_lr_factor":
        changed.update(end_lr=None, end_lr_factor=draw(st.floats(0.0, 2.0)))
    else:
        changed[field] = draw(st.floats(0.0, 2.0)) * case["lr"] or case["lr"]
    return changed


@st.composite
def pairs(draw):
    """A saved config, an edited one that builds, and a resume step in the saved run."""
    saved = draw(configs())
    current = draw(edited(saved))
    try:
        build(current)
    except ScheduleConfigError:
        assume(False)
    D, W, _ = lengths(saved)
    step = draw(st.integers(0, min(D if D is not None else W + 100, 60)))
    return saved, current, step


def first_difference(saved, current, steps):
    """The first of ``steps`` where the references differ beyond ``CLOSE``, and whether they
    are exactly equal at every one of them."""
    exact = True
    # Near 0 a formula cancels (Lc + (P - Lc) * 1): the scale is the largest value set.
    scale = max(case[key] for case in (saved, current) for key in SCALES)
    for s in steps:
        a, b = reference_lr(s, **saved), reference_lr(s, **current)
        if not math.isclose(a, b, rel_tol=CLOSE, abs_tol=CLOSE * scale):
            return s, False
        exact = exact and a == b
    return None, exact


def window(saved, current, step):
    """Steps after ``step``: the next 150, and every boundary of either config after it."""
    steps = set(range(step + 1, step + 151))
    for case in (saved, current):
        D, W, C = lengths(case)
        for s in (W, W + 1) if D is None else (W, W + 1, D - C, D - C + 1, D - 1, D, D + 1):
            if s > step:
                steps.add(s)
    return sorted(steps)
