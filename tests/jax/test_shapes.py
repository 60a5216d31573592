"""Warmup from a start LR, warmup/cooldown shapes, fractions of the run, and the polynomial,
inverse-sqrt and wsd families, against the independent float64 formulas in ``reference.py``.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hydra import compose, initialize
from hydra.utils import instantiate

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.lanes import one_per_kind
from support.reference import reference_lr, resolve_lengths

DECAYING = ("linear", "cosine", "exponential", "polynomial")


def is_valid(case):
    """The validity rules, restated so the generators below only make valid configs."""
    D = case.get("decay_steps")
    if case["name"] == "wsd" and not case.get("cooldown_steps") and "cooldown_fraction" not in case:
        case = {**case, "cooldown_fraction": 0.2}  # the wsd family's default cooldown
    fractions = case.get("warmup_fraction"), case.get("cooldown_fraction")
    if D is None and (case.get("cooldown_steps") or fractions != (None, None)):
        return False
    W, C = resolve_lengths(
        D,
        case.get("warmup_steps", 0),
        case.get("cooldown_steps", 0),
        case.get("warmup_fraction"),
        case.get("cooldown_fraction"),
    )
    if (case.get("warmup_fraction") or 0) + (case.get("cooldown_fraction") or 0) > 1:
        return False
    if D is not None and W + C > D:
        return False
    if case["name"] in DECAYING and (D is None or D - W - C < 1):
        return False
    if case["name"] == "wsd" and C == 0:
        return False
    return not (case["name"] == "exponential" and not case.get("end_lr_factor"))


def check(case, steps=None, jit=True):
    """Host, NumPy and (``jit``) jit values equal the reference over every step and far past
    the end."""
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    D = case.get("decay_steps") or 50
    steps = steps or [-3, *range(0, D + 4), 2 * D, 10**7, 2**31 - 1]
    want = np.array([reference_lr(s, **case) for s in steps])
    np.testing.assert_allclose([schedule(s) for s in steps], want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(schedule(np.array(steps)), want, rtol=1e-12, atol=1e-15)
    if not jit:
        return
    jitted = np.asarray(jax.jit(schedule)(jnp.array(steps, dtype=jnp.int32)))
    peak = max(case["lr"], case.get("warmup_start_lr", 0.0), case.get("cooldown_lr", 0.0))
    np.testing.assert_allclose(jitted, want, rtol=5e-6, atol=5e-7 * peak)


def cases_of(**axes):
    for values in itertools.product(*axes.values()):
        # None means "leave the field at its default", except for decay_steps (seed default 0).
        case = {
            k: v for k, v in zip(axes, values, strict=True) if v is not None or k == "decay_steps"
        }
        if is_valid(case):
            yield case


WARMUPS = list(
    cases_of(
        name=["constant", "cosine", "inverse_sqrt"],
        lr=[1.0],
        decay_steps=[20],
        warmup_steps=[1, 2, 7],
        warmup_start_lr=[0.0, 0.1, 1.5],
        warmup_shape=["linear", "cosine"],
        timescale=[None, 5.0],
    )
)
COOLDOWNS = list(
    cases_of(
        name=["constant", "linear", "exponential", "polynomial", "inverse_sqrt", "wsd"],
        lr=[2e-3],
        decay_steps=[15],
        warmup_steps=[0, 3],
        cooldown_steps=[1, 2, 6],
        cooldown_lr=[0.0, 1e-4],
        cooldown_shape=["linear", "cosine", "sqrt"],
        end_lr_factor=[0.25],
    )
)
FRACTIONS = list(
    cases_of(
        name=["cosine", "wsd", "constant"],
        lr=[1.0],
        decay_steps=[1, 7, 10, 33],
        warmup_fraction=[None, 0.0, 0.15, 0.25, 0.5, 1.0],
        cooldown_fraction=[None, 0.0, 0.2, 0.35, 0.5, 1.0],
        cooldown_shape=["sqrt"],
    )
)
POLYNOMIALS = list(
    cases_of(
        name=["polynomial"],
        lr=[0.5],
        decay_steps=[1, 9, 40],
        power=[0.5, 1.0, 2.0, 3.7],
        end_lr=[None, 0.05],
        warmup_steps=[0, 1],
        cooldown_steps=[0, 1],
    )
)
INVERSE_SQRTS = list(
    cases_of(
        name=["inverse_sqrt"],
        lr=[1e-3],
        decay_steps=[None, 5, 60],
        timescale=[1.0, 10.0, 10000.0],
        warmup_steps=[0, 4],
        cooldown_steps=[0, 5],
    )
)


def ids(case):
    return ",".join(f"{k}={v}" for k, v in case.items())


def phases(case):
    """The family and the phases the case has, each with its shape: what its compiled program
    is made of (the cases of one kind differ in their numbers only)."""
    D = case.get("decay_steps")
    fraction = 0.2 if case["name"] == "wsd" and not case.get("cooldown_steps") else None
    W, C = resolve_lengths(
        D,
        case.get("warmup_steps", 0),
        case.get("cooldown_steps", 0),
        case.get("warmup_fraction"),
        case.get("cooldown_fraction", fraction),
    )
    main = D is None or D - W - C > 0
    return (
        case["name"],
        W > 0 and case.get("warmup_shape"),
        main,
        C > 0 and case.get("cooldown_shape"),
    )


def sampled(cases):
    """A jit compile per case: the default lane compiles one case of each kind (``phases``) and
    checks every case on the host and in NumPy (``test_every_case_on_the_host_and_in_numpy``);
    the full lane compiles every case."""
    return one_per_kind(cases, phases, ids)


@pytest.mark.parametrize("case", sampled(WARMUPS))
def test_warmup_from_a_start_lr_with_either_shape(case):
    check(case)


@pytest.mark.parametrize("case", sampled(COOLDOWNS))
def test_cooldown_shapes_start_where_the_main_phase_ends(case):
    check(case)


@pytest.mark.parametrize("case", sampled(FRACTIONS))
@pytest.mark.filterwarnings("ignore::hydra_optax_schedules.IgnoredFieldWarning")  # 0-step phases
def test_fractions_of_the_run(case):
    check(case)


@pytest.mark.parametrize("case", sampled(POLYNOMIALS))
def test_polynomial(case):
    check(case)


@pytest.mark.parametrize("case", sampled(INVERSE_SQRTS))
@pytest.mark.filterwarnings("ignore::hydra_optax_schedules.IgnoredFieldWarning")  # no main phase
def test_inverse_sqrt(case):
    check(case)


@pytest.mark.parametrize(
    "cases",
    [WARMUPS, COOLDOWNS, FRACTIONS, POLYNOMIALS, INVERSE_SQRTS],
    ids=["warmups", "cooldowns", "fractions", "polynomials", "inverse_sqrts"],
)
@pytest.mark.filterwarnings("ignore::hydra_optax_schedules.IgnoredFieldWarning")  # as above
def test_every_case_on_the_host_and_in_numpy(cases):
    for case in cases:
        check(case, jit=False)


def test_the_case_lists_are_not_empty():
    assert min(map(len, (WARMUPS, COOLDOWNS, FRACTIONS, POLYNOMIALS, INVERSE_SQRTS))) >= 10


def test_fraction_rounding_is_to_the_nearest_step_and_one_is_the_whole_run():
    def lengths(D, **fractions):
        phases = build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=D, **fractions)).phases
        by_name = {p.name: p.length for p in phases}
        return by_name.get("warmup", 0), by_name.get("cooldown", 0)

    assert lengths(10, warmup_fraction=0.25) == (3, 0)  # 2.5 rounds up, not to even
    assert lengths(10, warmup_fraction=0.34) == (3, 0)
    assert lengths(10, cooldown_fraction=0.25) == (0, 2)  # starts at 7.5 -> 8
    assert lengths(3, warmup_fraction=0.5, cooldown_fraction=0.5) == (2, 1)  # never past D
    assert lengths(10, warmup_fraction=1.0) == (10, 0)  # 1 is the whole run, not one step
    assert lengths(10, cooldown_fraction=1.0) == (0, 10)


def test_wsd_defaults_to_a_one_sqrt_cooldown_over_the_last_fifth_unless_told_otherwise():
    with initialize(version_base="1.3"):
        cfg = compose(overrides=["+scheduler=wsd", "scheduler.lr=1.0", "scheduler.warmup_steps=10"])
    schedule = instantiate(cfg.scheduler, decay_steps=100)
    expected = [
        reference_lr(
            s,
            name="wsd",
            lr=1.0,
            decay_steps=100,
            warmup_steps=10,
            cooldown_fraction=0.2,
            cooldown_shape="sqrt",
        )
        for s in range(110)
    ]
    assert [schedule(s) for s in range(110)] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert schedule(80) == 1.0
    assert schedule(85) == pytest.approx(1 - (5 / 20) ** 0.5)
    with initialize(version_base="1.3"):
        cfg = compose(
            overrides=["+scheduler=wsd", "scheduler.lr=1.0", "scheduler.cooldown_steps=7"]
        )
    assert [p.length for p in instantiate(cfg.scheduler, decay_steps=100).phases] == [93, 7]


def test_fractions_resolve_against_runtime_decay_steps():
    with initialize(version_base="1.3"):
        cfg = compose(
            overrides=[
                "+scheduler=cosine",
                "scheduler.lr=1.0",
                "scheduler.warmup_fraction=0.1",
                "scheduler.cooldown_fraction=0.3",
                "scheduler.end_lr_factor=0.1",
            ]
        )
    for D in (10, 77, 1000):
        schedule = instantiate(cfg.scheduler, decay_steps=D)
        case = dict(
            name="cosine",
            lr=1.0,
            decay_steps=D,
            warmup_fraction=0.1,
            cooldown_fraction=0.3,
            end_lr_factor=0.1,
        )
        check(case)
        assert [p.length for p in schedule.phases] == [
            round(0.1 * D + 1e-9),
            D - round(0.1 * D + 1e-9) - (D - int(0.7 * D + 0.5)),
            D - int(0.7 * D + 0.5),
        ]


def test_polynomial_of_power_one_is_linear():
    linear = dict(lr=1.0, decay_steps=30, warmup_steps=3, end_lr=0.2)
    for s in range(-1, 35):
        poly = reference_lr(s, name="polynomial", power=1.0, **linear)
        assert poly == pytest.approx(reference_lr(s, name="linear", **linear), rel=1e-12)
