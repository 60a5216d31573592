"""Generated composed configs (restarts, milestones, stages, a branched cooldown) that a
reference curve tells apart: values are generic and phases long enough that a field with an
effect changes the curve (a cosine and a linear ramp over 2 steps agree at their middle step).

The package's own validation may still refuse a drawn config (a rewarmup too long for its
cycle): callers filter with ``assume``. ``reference_config`` is a config as
``composed_reference.composed_lr`` reads it.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import hypothesis.strategies as st
from hypothesis import assume, event

from .composed_reference import cycle_starts

DECAYING = ("linear", "cosine", "exponential", "polynomial")
FAMILIES = (*DECAYING, "inverse_sqrt", "constant", "wsd", "multistep", "stages")


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
    if (family in DECAYING or family == "wsd") and draw(st.booleans()):
        assume(family != "wsd" or branch is None)  # WSD-S with a branch is refused
        case["cycles"] = draw(st.integers(2, 4))
        case["cycle_mult"] = draw(st.sampled_from([1.0, 2.0, 0.5]))
        case["cycle_decay"] = draw(st.sampled_from([1.0, 0.7]))
        rewarmup = draw(st.sampled_from(["", "steps", "fraction", "tiny"]))
        if rewarmup == "steps":
            case["rewarmup_steps"] = 3
        if rewarmup in ("fraction", "tiny"):
            case["rewarmup_fraction"] = 0.3 if rewarmup == "fraction" else 0.001
        # WSD-S cycles divide the whole run; the others, the main phase
        starts = cycle_starts(case["cycles"], case["cycle_mult"], D if family == "wsd" else M)
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
