"""Never silent: a field set to a value that has no effect raises ``IgnoredFieldWarning``.

The rule (README): a field that differs from its default but changes nothing in the chosen
schedule (an end value on a family that does not decay to one, ``power`` off the polynomial
family, ``timescale`` off inverse_sqrt, a warmup's start or shape without a warmup, a
cooldown's end or shape without a cooldown) is named in one warning per build. The schedule
is built, so sweeps across families can share fields.
"""

from __future__ import annotations

import re
import warnings

import hypothesis.strategies as st
import pytest
from hypothesis import given

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    SchedulerConfig,
    build_lr_scheduler,
    load_schedule,
)
from hydra_optax_schedules.hydra_options import option_node

from support.generators import configs, f32_rate
from support.reference import FAMILIES
from support.tolerance import DECAYING, lengths


def expected_ignored(case):
    """The fields the rule names, written out from the README's sentence."""
    family = FAMILIES[case["name"]]
    _, W, C = lengths(case)
    cooldown_default = "sqrt" if family == "wsd" else "linear"
    ignored = set()
    if family not in DECAYING:
        ignored |= {f for f in ("end_lr", "end_lr_factor") if case.get(f) is not None}
    if family != "polynomial" and case.get("power", 2.0) != 2.0:
        ignored.add("power")
    if family != "inverse_sqrt" and case.get("timescale", 10000.0) != 10000.0:
        ignored.add("timescale")
    if W == 0:
        if case.get("warmup_start_lr", 0.0) != 0.0:
            ignored.add("warmup_start_lr")
        if case.get("warmup_shape", "linear") != "linear":
            ignored.add("warmup_shape")
    if C == 0:
        if case.get("cooldown_lr", 0.0) != 0.0:
            ignored.add("cooldown_lr")
        if case.get("cooldown_shape") not in (None, cooldown_default):
            ignored.add("cooldown_shape")
    return ignored


def warned_fields(build, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(*args, **kwargs)
    ours = [w for w in caught if issubclass(w.category, IgnoredFieldWarning)]
    assert len(ours) <= 1, [str(w.message) for w in ours]  # one warning per build
    if not ours:
        return set()
    settings = re.split(r" ha(?:s|ve) no effect", str(ours[0].message))[0]
    return set(re.findall(r"(?:^|, )(\w+)=", settings))


@st.composite
def configs_with_foreign_fields(draw):
    """A valid config, sometimes with a field of another family or of a missing phase set."""
    case = draw(configs())
    for field, values in {
        "end_lr_factor": st.floats(0.0, 1.0),
        "power": st.floats(0.1, 5.0),
        "timescale": st.floats(1.0, 1e5),
        "warmup_start_lr": st.floats(0.0, 1.0),
        "warmup_shape": st.sampled_from(["linear", "cosine"]),
        "cooldown_lr": st.floats(0.0, 1.0),
    }.items():
        if draw(st.integers(0, 3)) == 0:
            value = draw(values)
            if field == "end_lr_factor" and FAMILIES[case["name"]] in DECAYING:
                continue  # would change a valid decaying config's end value
            if field in ("end_lr_factor", "warmup_start_lr", "cooldown_lr"):
                value = f32_rate(value * case["lr"]) and value  # a rate float32 holds
            case[field] = value * case["lr"] if field.endswith("_lr") else value
    return case


@given(configs_with_foreign_fields())
def test_the_warning_names_exactly_the_fields_without_effect(case):
    assert warned_fields(build_lr_scheduler, SchedulerConfig(**case)) == expected_ignored(case)


@pytest.mark.parametrize(
    ("fields", "ignored"),
    [
        ({"name": "wsd", "decay_steps": 100, "end_lr": 1e-5}, {"end_lr"}),
        ({"name": "cosine", "decay_steps": 100, "power": 7.0}, {"power"}),
        ({"name": "linear", "decay_steps": 100, "timescale": 77.0}, {"timescale"}),
        (
            {"name": "constant", "end_lr_factor": 0.1, "cooldown_lr": 1e-5},
            {"end_lr_factor", "cooldown_lr"},
        ),
        ({"name": "cosine", "decay_steps": 10, "warmup_shape": "cosine"}, {"warmup_shape"}),
        ({"name": "inverse_sqrt", "cooldown_shape": "sqrt"}, {"cooldown_shape"}),
    ],
)
def test_examples_warn_from_every_python_path(fields, ignored):
    fields = {"lr": 1e-3, **fields}
    assert warned_fields(build_lr_scheduler, SchedulerConfig(**fields)) == ignored
    assert warned_fields(build_lr_scheduler, fields) == ignored
    assert warned_fields(load_schedule, fields) == ignored


@pytest.mark.parametrize(
    "name",
    [
        "constant",
        "cosine",
        "linear",
        "exponential",
        "polynomial",
        "inverse_sqrt",
        "wsd",
        "cosine_decay",
        "exponential_decay",
    ],
)
def test_an_option_at_its_defaults_does_not_warn(name):
    node = option_node(name)
    node.lr, node.decay_steps = 1.0, 100
    if name.startswith("exponential"):
        node.end_lr_factor = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_lr_scheduler(node)


def test_the_warning_can_be_made_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredFieldWarning)
        with pytest.raises(IgnoredFieldWarning, match="end_lr=1e-05"):
            build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=10, end_lr=1e-5))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["scheduler=wsd", "scheduler.end_lr=1e-5"], "end_lr=1e-05"),
        (["scheduler=cosine", "+scheduler.power=7"], "power=7"),
        (["scheduler=linear", "+scheduler.timescale=77.0"], "timescale=77.0"),
        (
            ["scheduler=stages", "scheduler.stages=[{shape:cosine,end:0.1,power:3}]"],
            "stages[0].power=3.0",
        ),
    ],
)
def test_the_command_line_warns_and_runs(user_app, overrides, field):
    proc = user_app.run(*overrides)
    assert "IgnoredFieldWarning" in proc.stderr and field in proc.stderr, proc.stderr
    assert user_app.result()["values"]


@pytest.mark.full  # the full lane (CI): a multirun
def test_a_sweep_across_families_sharing_a_field_runs_and_warns_once_per_job(user_app):
    proc = user_app.run(
        "-m", "scheduler=constant,cosine,linear,exponential", "scheduler.end_lr_factor=0.1"
    )
    assert proc.stderr.count("IgnoredFieldWarning") == 1, proc.stderr  # constant's job only
    for job in range(4):
        assert user_app.result(f"sweep/{job}")["values"]
