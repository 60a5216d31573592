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
import itertools
import math
import re
import warnings
from fractions import Fraction

import hypothesis.strategies as st
from hypothesis import assume, event, given

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
)

from support.composed_reference import composed_lr, cycle_starts

DECAYING = ("linear", "cosine", "exponential", "polynomial")
FAMILIES = (*DECAYING, "inverse_sqrt", "constant", "wsd", "multistep", "stages")
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


def split(draw, total, parts):
    """``parts`` lengths of at least 3 steps that sum to ``total``."""
    cuts = sorted(
        draw(st.lists(st.integers(0, total - 3 * parts), min_size=parts - 1, max_size=parts - 1))
    )
    bounds = [0, *cuts, total - 3 * parts]
    return [b - a + 3 for a, b in itertools.pairwise(bounds)]


@st.composite
def composed_configs(draw):
    """A valid composed config (maybe: the package's own validation filters it)."""
    family = draw(st.sampled_from(FAMILIES))
    D = draw(st.integers(24, 200))
    case = {"lr": 1.0, "name": family, "decay_steps": D}
    W = draw(st.sampled_from([0, 3, 4, 5]))
    if W and draw(st.booleans()):
        case["warmup_steps"] = W
    elif W:
        case["warmup_fraction"] = W / D  # rounds to W exactly (W / D * D = W + tiny)
    elif draw(st.booleans()):
        case["warmup_fraction"] = draw(st.sampled_from([0.0, 0.001, 0.002]))  # 0 steps
    if W or draw(st.booleans()):
        case["warmup_start_lr"] = 0.125
    if draw(st.booleans()):
        case["warmup_shape"] = "cosine"
    branch = None
    C = draw(st.sampled_from([0, 3, 4, 6]))
    if family == "wsd":
        C = max(C, 3)
    if C and draw(st.booleans()):
        branch = draw(st.integers(W, D + 5))
        if draw(st.booleans()):
            case["cooldown_start"] = branch
        else:  # a fraction that rounds to the same step, halves up
            fraction = Fraction(2 * branch - 1, 2 * D) if branch else Fraction(0)
            case["cooldown_start_fraction"] = float(fraction) if fraction <= 1 else 1.0
            branch = math.floor(
                Fraction(repr(case["cooldown_start_fraction"])) * D + Fraction(1, 2)
            )
            assume(branch >= W)
    if C:
        case["cooldown_steps"] = C
    elif draw(st.booleans()):
        case["cooldown_fraction"] = draw(st.sampled_from([0.0, 0.001]))  # 0 steps
    if draw(st.booleans()):
        case["cooldown_lr"] = 0.0625
    if draw(st.booleans()):
        case["cooldown_shape"] = draw(st.sampled_from(["cosine", "sqrt", "linear"]))
    M = D - W - (0 if branch is not None else C)
    assume(M >= 3)
    if family in DECAYING or draw(st.integers(0, 3)) == 0:  # or on a family without an end
        case["end_lr_factor"] = draw(st.sampled_from([0.05, 0.3]))
    if family == "polynomial" or draw(st.integers(0, 5)) == 0:
        case["power"] = 3.0
    if family == "inverse_sqrt" or draw(st.integers(0, 5)) == 0:
        case["timescale"] = 7.0
    if family in DECAYING and draw(st.booleans()):
        case["cycles"] = draw(st.integers(2, 4))
        case["cycle_mult"] = draw(st.sampled_from([1.0, 2.0, 0.5]))
        case["cycle_decay"] = draw(st.sampled_from([1.0, 0.7]))
        rewarmup = draw(st.sampled_from(["", "steps", "fraction", "tiny"]))
        if rewarmup == "steps":
            case["rewarmup_steps"] = 3
        if rewarmup in ("fraction", "tiny"):
            case["rewarmup_fraction"] = 0.3 if rewarmup == "fraction" else 0.001
        starts = cycle_starts(case["cycles"], case["cycle_mult"], M)
        assume(min(b - a for a, b in itertools.pairwise(starts)) >= 10)  # a shape seen at 3+ steps
    if family == "multistep":
        count = draw(st.integers(1, 3))
        steps = draw(
            st.lists(st.integers(W + 1, W + M - 1), min_size=count, max_size=count, unique=True)
        )
        case["milestones"] = sorted(steps)
        case["decay_factor"] = draw(st.sampled_from([0.1, 0.5]))
    if family == "stages":
        count = draw(st.integers(1, 3))
        assume(3 * count <= M)
        lengths = split(draw, M, count)
        case["stages"] = [
            {
                "steps": n,
                "shape": draw(st.sampled_from(["linear", "cosine", "constant"])),
                # a jump, to a start no stage ends at nor starts from
                **({"start": 0.75 - 0.15 * j} if draw(st.integers(0, 3)) == 0 else {}),
            }
            for j, n in enumerate(lengths)
        ]
        for stage in case["stages"]:
            if stage["shape"] != "constant":
                stage["end"] = draw(st.sampled_from([0.2, 0.4]))
    event(f"family={family}, branched={branch is not None}")
    return case


def reference_config(case):
    """The config as ``composed_lr`` reads it: a branch given as a fraction, as its step."""
    case = dict(case)
    fraction = case.pop("cooldown_start_fraction", None)
    if fraction is not None:
        case["cooldown_start"] = math.floor(
            Fraction(repr(fraction)) * case["decay_steps"] + Fraction(1, 2)
        )
    return case


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
