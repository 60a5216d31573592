"""Generated valid configs of every family, and steps that probe them (hypothesis strategies).

The generator builds valid configs by construction, not by filtering: it picks a name, a run
length (or none, where the family allows it), phase lengths that fit, then writes each length
as steps or as a fraction that rounds to it, and draws the end values, shapes and family
parameters. Lengths are resolved by ``reference.resolve_lengths`` (exact rationals).
"""

from __future__ import annotations

import inspect

import hypothesis.strategies as st
import numpy as np
from hypothesis import event

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler
from hydra_optax_schedules.config import SCHEDULE_NAMES

from .reference import (
    FAMILIES,
    WSD_DEFAULT_COOLDOWN_FRACTION,
    decimal,
    reference_lr,
    resolve_lengths,
)
from .tolerance import DECAYING, lengths

#: The fields of the families of ``schedule-semantics.md``; the composed ones have their own
#: property tests (test_cooldown_start.py, test_cycles.py, test_multistep.py, test_stages.py).
REFERENCE_FIELDS = tuple(inspect.signature(reference_lr).parameters)[1:]

MAY_BE_OPEN_ENDED = ("constant", "inverse_sqrt")  # without a cooldown, decay_steps may be None
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Every example evaluates this many steps, so the JAX arrays always have one shape and eager
# JAX reuses its compiled operations from one example to the next.
STEPS_PER_EXAMPLE = 64


def short_or_any(draw, low, high):
    """An integer in [low, high], often one of the smallest (1-step phases are corners)."""
    return draw(st.integers(low, min(high, low + 2) if draw(st.booleans()) else high))


RUN_LENGTHS = st.one_of(st.integers(1, 30), st.integers(1, 10_000), st.integers(1, 10**9))


def warmup_fraction(draw, W, D):
    """A fraction whose warmup, ``round(f * D)``, is ``W`` steps: ``f * D`` in [W - 0.5, W + 0.5).

    Drawn as a position in that interval (bounded floats would retry in narrow intervals);
    where float rounding moves it across a half step, ``W / D`` is used instead.
    """
    low, high = max(0.0, (W - 0.5) / D), min(1.0, (W + 0.5) / D)
    fraction = min(low + draw(st.floats(0.0, 1.0)) * (high - low), 1.0)
    return fraction if resolve_lengths(D, warmup_fraction=fraction)[0] == W else W / D


def cooldown_by(draw, C, D, warmup_fraction):
    """``C`` as ``cooldown_steps``, or as a fraction that rounds to it: ``D - round((1 - f) * D)``
    is ``C`` for ``(1 - f) * D`` in [D - C - 0.5, D - C + 0.5). Fractions sum to at most 1."""
    if D > 0 and draw(st.booleans()):
        at_most = 1.0 if warmup_fraction is None else 1.0 - warmup_fraction
        low, high = max(0.0, (C - 0.5) / D), min(at_most, (C + 0.5) / D)
        drawn = min(low + draw(st.floats(0.0, 1.0)) * (high - low), at_most)
        for fraction in (drawn, C / D, at_most):
            fits = warmup_fraction is None or decimal(warmup_fraction) + decimal(fraction) <= 1
            if fits and resolve_lengths(D, cooldown_fraction=fraction)[1] == C:
                return {"cooldown_fraction": fraction}
    return {"cooldown_steps": C}


#: The smallest positive normal float32: a rate below it is 0 under jit, and refused.
F32_TINY = 2.0**-126


def f32_rate(value):
    """``value``, or 0 if float32 would flush it to 0 (and the config would be refused)."""
    return value if value >= F32_TINY else 0.0


@st.composite
def configs(draw, non_increasing=False):
    """A valid config of any family, with every field (as ``SchedulerConfig.to_dict()``).

    With ``non_increasing``, every end value is at most the peak and the cooldown does not
    rise: ``E <= lr`` and ``cooldown_lr <= P``, the value where the cooldown starts.
    """
    name = draw(st.sampled_from(sorted(FAMILIES)))  # composed ones: test_cycles.py, ...
    family = SCHEDULE_NAMES[name]
    lr = draw(st.floats(1e-8, 1e3))
    case = SchedulerConfig(lr=lr, name=name).to_dict()
    case = {key: value for key, value in case.items() if key in REFERENCE_FIELDS}
    case["warmup_shape"] = draw(st.sampled_from(("linear", "cosine")))
    case["cooldown_shape"] = draw(st.sampled_from(("linear", "cosine", "sqrt")))
    if family == "polynomial":
        case["power"] = draw(st.floats(0.05, 8.0))
    if family == "inverse_sqrt":
        case["timescale"] = draw(st.floats(0.01, 1e6))

    if family in MAY_BE_OPEN_ENDED and draw(st.booleans()):
        case["decay_steps"] = None
        case["warmup_steps"] = draw(st.one_of(st.integers(0, 2), st.integers(0, 10**9)))
        event("decay_steps=None")
    else:
        D = draw(st.integers(0, 30) | RUN_LENGTHS if family in MAY_BE_OPEN_ENDED else RUN_LENGTHS)
        case["decay_steps"] = D
        main_at_least = 1 if family in DECAYING else 0
        wsd_default = family == "wsd" and D >= 3 and draw(st.booleans())
        if wsd_default:  # neither cooldown field: the family's 20% of the run
            C = resolve_lengths(D, cooldown_fraction=WSD_DEFAULT_COOLDOWN_FRACTION)[1]
        else:
            C = short_or_any(draw, 1 if family == "wsd" else 0, D - main_at_least)
        W = short_or_any(draw, 0, D - main_at_least - C)
        event(f"decay_steps={'<=30' if D <= 30 else '<=1e4' if D <= 10_000 else '<=1e9'}")

        fraction = warmup_fraction(draw, W, D) if D > 0 and draw(st.booleans()) else None
        if wsd_default and fraction is not None:  # the default cooldown is a fraction too
            fits = decimal(fraction) + decimal(WSD_DEFAULT_COOLDOWN_FRACTION) <= 1
            fraction = fraction if fits else None
        if fraction is None:
            case["warmup_steps"] = W
        else:
            case["warmup_fraction"] = fraction
        if not wsd_default:
            case.update(cooldown_by(draw, C, D, case["warmup_fraction"]))
        event(f"warmup by {'fraction' if case['warmup_fraction'] is not None else 'steps'}")
        event(f"cooldown by {'fraction' if case['cooldown_fraction'] is not None else 'steps'}")

    D, W, C = lengths(case)
    if W == 0:  # a warmup's shape, or a cooldown's, has no effect without one (and warns)
        case["warmup_shape"] = "linear"
    if C == 0:
        case["cooldown_shape"] = None
    if family in DECAYING:
        factor = draw(st.floats(0.0, 1.0 if non_increasing else 4.0))
        factor = f32_rate(factor * lr * (1 - 4e-7)) and factor
        end = draw(st.sampled_from(["end_lr", "end_lr_factor", "both", ""]))
        if family == "exponential":  # it needs E > 0
            factor, end = max(factor, 1e-6), end or "end_lr_factor"
        if end == "end_lr":
            case["end_lr"] = factor * lr
        if end == "both":  # they need to agree only within rel_tol=1e-6
            nudge = draw(st.floats(-4e-7, 0.0 if non_increasing else 4e-7))
            case["end_lr"] = factor * lr * (1 + nudge)
        if end in ("end_lr_factor", "both"):
            case["end_lr_factor"] = factor
        event(f"E given as {end or 'neither'}")
    if W > 0 and draw(st.booleans()):
        case["warmup_start_lr"] = f32_rate(draw(st.floats(0.0, 2.0)) * lr)
    if C > 0 and draw(st.booleans()):
        # P, the value where the cooldown starts, does not depend on cooldown_lr.
        top = reference_lr(D - C, **case) if non_increasing else 2.0 * lr
        case["cooldown_lr"] = f32_rate(draw(st.floats(0.0, 1.0)) * top)
    event(f"name={name}")
    return case


@st.composite
def examples(draw, non_increasing=False):
    """A valid config and STEPS_PER_EXAMPLE int32 steps: every phase boundary, and anywhere."""
    case = draw(configs(non_increasing=non_increasing))
    D, W, C = lengths(case)
    end = D if D is not None else 2 * W + 100
    corners = [INT32_MIN, -1, 0, 1, W - 1, W, W + 1]
    corners += [end - C - 1, end - C, end - C + 1, end - 1, end, end + 1, INT32_MAX]
    corners = [min(max(s, INT32_MIN), INT32_MAX) for s in corners]
    far = 10
    near = STEPS_PER_EXAMPLE - len(corners) - far
    near_steps = st.integers(-5, min(2 * end + 5, INT32_MAX))
    far_steps = st.integers(INT32_MIN, INT32_MAX)
    return case, (
        corners
        + draw(st.lists(near_steps, min_size=near, max_size=near))
        + draw(st.lists(far_steps, min_size=far, max_size=far))
    )


def reference(case, steps):
    return np.array([reference_lr(s, **case) for s in steps])


def build(case):
    return build_lr_scheduler(SchedulerConfig(**case))


# --- Saved configs with interpolations (the loader's parity with Hydra) ----------------------

#: How a field's value is written in a saved config: as itself, or as an interpolation that
#: OmegaConf resolves to it (absolute, relative, in brackets, through a chain, through a
#: relative chain, as a string decoded by ``oc.decode``, selected by ``oc.select``, as the
#: default of an ``oc.select`` of an absent key or of a missing value), or as one that both
#: readers refuse (a missing key, a missing value) or that makes another value (a string
#: embedding it, an ``oc.select`` of an absent key without a default: null).
FORMS = (
    *("plain", "absolute", "relative", "bracket", "chain", "relative chain", "decode"),
    *("select", "select default"),
)
BROKEN_FORMS = ("dangling", "missing value", "embedded", "select nothing")


@st.composite
def multistep_configs(draw):
    """A valid ``multistep`` config without warmup or cooldown: milestones inside the run."""
    D = draw(st.integers(2, 10_000))
    milestones = draw(st.lists(st.integers(1, D - 1), min_size=1, max_size=5, unique=True))
    factor = draw(st.floats(0.01, 1.0))
    return {
        "name": "multistep",
        "lr": draw(st.floats(1e-8, 1e3)),
        "decay_steps": D,
        "milestones": sorted(milestones),
        "decay_factor": factor,
    }


@st.composite
def stages_configs(draw):
    """A valid ``stages`` config: stages of given lengths that fit the run, the last one
    sometimes taking the rest."""
    D = draw(st.integers(4, 10_000))
    count = draw(st.integers(1, 3))
    lr = draw(st.floats(1e-8, 1e3))
    stages = []
    for i in range(count):
        stage = {"shape": draw(st.sampled_from(["linear", "cosine", "constant"]))}
        if stage["shape"] != "constant":  # a constant stage ends where it starts
            end = draw(st.floats(0.0, 1.0))  # a factor of lr: the value lr * end float32 holds
            stage["end"] = end if f32_rate(end * lr) > 0 else 0.0
        if i < count - 1:
            stage["steps"] = draw(st.integers(1, D // count))
        elif draw(st.booleans()):  # the stages cover the run exactly, or the last the rest
            stage["steps"] = D - sum(previous["steps"] for previous in stages)
        stages.append(stage)
    return {"name": "stages", "lr": lr, "decay_steps": D, "stages": stages}


def _decodable(value):
    """``value`` as the text ``oc.decode`` reads back to it, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return repr(value)
    return None


@st.composite
def saved_configs(draw, broken=False):
    """``(document, fields)``: a run's whole config as plain data, whose ``scheduler`` node
    holds a valid config's ``fields``, each written in one of ``FORMS`` (and, with
    ``broken``, at times one in ``BROKEN_FORMS``); ``run`` holds what the interpolations refer to.
    The scheduler node itself may be an interpolation of a node elsewhere (``${job}``)."""
    fields = draw(st.one_of(configs(), multistep_configs(), stages_configs()))
    node = {"_target_": "hydra_optax_schedules.build_schedule"}
    if draw(st.booleans()):  # instantiate's own flags, which change nothing in the schedule
        node["_recursive_"] = draw(st.booleans())
        node["_convert_"] = draw(st.sampled_from(["none", "partial", "object", "all", "ALL"]))
    run = {}
    breaks = draw(st.sampled_from(sorted(fields))) if broken and draw(st.booleans()) else None
    event(f"name={fields['name']}")
    for name, value in fields.items():
        form = draw(st.sampled_from(BROKEN_FORMS if name == breaks else FORMS))
        if name == "milestones" and form == "plain" and draw(st.booleans()):
            # Each item an interpolation to its own key, relative to the list (``..``).
            run["ms"] = [f"${{..m{i}}}" for i in range(len(value))]
            run |= {f"m{i}": item for i, item in enumerate(value)}
            node[name] = "${run.ms}"
            event("milestones: each one an interpolation relative to the list")
            continue
        if name == "stages" and form != "plain":
            # The list elsewhere; each stage's end there, relative to the stage: "." is the
            # stage, ".." the list, "..." run.
            run["stages"] = [
                {**stage, "end": f"${{...end{i}}}"} if "end" in stage else stage
                for i, stage in enumerate(value)
            ]
            run |= {f"end{i}": stage["end"] for i, stage in enumerate(value) if "end" in stage}
            node[name] = "${run.stages}"
            event("stages: each end an interpolation relative to its stage")
            continue
        if form in ("decode", "select default") and _decodable(value) is None:
            form = "absolute"
        node[name] = _write(draw, form, name, value, run)
    document = {"run": run}
    if draw(st.booleans()):  # the scheduler node is somewhere else, and referred to
        document |= {"job": node, "scheduler": "${job}"}
    else:
        document["scheduler"] = node
    event(f"scheduler node {'by interpolation' if 'job' in document else 'in place'}")
    return document, fields


def _write(draw, form, name, value, run):
    """``value`` of field ``name`` written in ``form``; what it refers to is put in ``run``."""
    event(f"form={form}")
    if form == "plain":
        return value
    if form in ("absolute", "relative", "bracket"):
        run[name] = value
        return {"absolute": "${run.%s}", "relative": "${..run.%s}", "bracket": "${run[%s]}"}[
            form
        ] % name
    if form == "chain":
        run[name], run[f"{name}_source"] = f"${{run.{name}_source}}", value
        return f"${{run.{name}}}"
    if form == "relative chain":  # resolved where it stands: in run, "." is run
        run[name], run[f"{name}_source"] = f"${{.{name}_source}}", value
        return f"${{..run.{name}}}"
    if form == "decode":
        run[f"{name}_text"] = _decodable(value)
        return f"${{oc.decode:${{run.{name}_text}}}}"
    if form == "select":  # present: its default is never used
        run[name] = value
        return f"${{oc.select:{draw(st.sampled_from(['run.', '..run.']))}{name},null}}"
    if form == "select default":  # the key absent, or its value missing: the default
        if draw(st.booleans()):
            run[name] = "???"
            return f"${{oc.select:run.{name},{_decodable(value)}}}"
        return f"${{oc.select:.no_{name},{_decodable(value)}}}"
    if form == "select nothing":
        return f"${{oc.select:run.no_{name}}}"
    if form == "dangling":
        return f"${{run.no_{name}}}"
    if form == "missing value":
        run[name] = "???"
        return f"${{run.{name}}}"
    assert form == "embedded"  # a string: the name's rest, or a number's text after a prefix
    text = str(value)
    cut = draw(st.integers(0, len(text)))
    run[name] = text[cut:]
    return f"{text[:cut]}${{run.{name}}}"
