"""Never silent, checked against an independent reference: a set field warns exactly when it
has no effect on the curve.

The check is independent of the package's plan: a field has an effect when the reference
(``support/composed_reference.py``, straight from the specs) gives another curve, at any step
of the run and past it, once the field is reset to its default (a list item left out). The
generated configs are composed ones: restarts, milestones and stages, a cooldown branched off
anywhere (``cooldown_start`` or ``cooldown_start_fraction``: inside the first cycle, at the
warmup's end, on a piece's first step, after the run), fractions that round to no phase.
Values are generic and phases at least 3 steps long, so that a field with an effect changes
the curve (a cosine and a linear ramp over 2 steps agree at their middle step).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

from hypothesis import assume, given

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
)

from support.composed_generators import composed_configs, reference_config
from support.composed_reference import composed_lr

#: The fields whose effect the test checks (a list's items checked one by one).
CHECKED = (
    "end_lr_factor",
    "power",
    "timescale",
    "warmup_start_lr",
    "warmup_shape",
    "warmup_fraction",
    "cooldown_lr",
    "cooldown_shape",
    "cooldown_fraction",
    "cycles",
    "cycle_mult",
    "cycle_decay",
    "rewarmup_steps",
    "rewarmup_fraction",
    "decay_factor",
)


def curve(case, last):
    """The reference's values at steps ``-1 .. last``."""
    config = reference_config(case)
    return [composed_lr(step, **config) for step in range(-1, last + 1)]


def resets(case):
    """Each checked field of ``case``, and the config with it reset (an item left out).

    A stage at or after the branch is reset with the stages after it: they become one stage
    that holds the previous stage's end. A stage before the branch shapes the curve the branch
    starts from (and the stages must cover the main phase): it is not reset.
    """
    for field in CHECKED:
        if field in case:
            yield field, {k: v for k, v in case.items() if k != field}
    milestones = case.get("milestones", ())
    for i in range(len(milestones)):
        kept = [m for j, m in enumerate(milestones) if j != i]
        yield f"milestones[{i}]", {**case, "milestones": kept}
    branch = reference_config(case).get("cooldown_start")
    begin = case.get("warmup_steps", 0) or round(
        case.get("warmup_fraction", 0) * case["decay_steps"]
    )
    for j, stage in enumerate(case.get("stages", ())):
        if branch is not None and begin >= branch:
            rest = sum(later["steps"] for later in case["stages"][j:])
            hold = {"steps": rest, "shape": "constant"}  # the previous stage's end, held
            yield f"stages[{j}]", {**case, "stages": [*case["stages"][:j], hold]}
        begin += stage["steps"]


def warned(case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_lr_scheduler(case)
    ours = [str(w.message) for w in caught if issubclass(w.category, IgnoredFieldWarning)]
    assert len(ours) <= 1
    if not ours:
        return set()
    settings = re.split(r" ha(?:s|ve) no effect", ours[0])[0]
    return set(re.findall(r"(?:^|, )([\w\[\]]+)=", settings))


DEFAULTS = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}


def is_unset(case, field):
    """Whether ``field`` is at the value that means "unset" (the family's default for
    ``cooldown_shape``), or is a fraction of 0, which asks for no phase and gets none."""
    value = case[field]
    if field == "cooldown_shape":
        return value == ("sqrt" if case["name"] == "wsd" else "linear")
    if field.endswith("_fraction"):
        return value == 0
    return value == DEFAULTS[field]


@given(composed_configs())
def test_a_field_warns_exactly_when_resetting_it_leaves_the_curve_unchanged(case):
    try:
        got = warned(case)
    except ScheduleConfigError:
        assume(False)
    config = reference_config(case)
    last = config["decay_steps"] + config.get("cooldown_start", 0) + 8  # past every end
    before = curve(case, last)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)
        schedule = build_lr_scheduler(case)
    values = [schedule(step) for step in range(-1, last + 1)]
    assert all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(values, before, strict=True)
    )
    checked, no_effect = set(), set()
    for field, reset in resets(case):
        if field in case and is_unset(case, field):
            continue
        branched = "cooldown_start" in case or "cooldown_start_fraction" in case
        if field == "cooldown_fraction" and branched:
            continue  # without it, the branched cooldown has no length: not a config
        checked.add(field)
        after = curve(reset, last)
        pairs = zip(before, after, strict=True)
        if all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in pairs):
            no_effect.add(field)
    assert got & checked == no_effect, case
