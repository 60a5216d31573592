"""Never silent: a field set to a value that has no effect raises ``IgnoredFieldWarning``.

The rule (README): a field that differs from its default but changes nothing in the chosen
schedule (an end value on a family that does not decay to one, ``power`` off the polynomial
family, ``timescale`` off inverse_sqrt, a warmup's start or shape without a warmup, a
cooldown's end or shape without a cooldown, a fraction that rounds to a phase of 0 steps) is
named in one warning per build. The schedule
is built, so sweeps across families can share fields.
"""

from __future__ import annotations

import re
import sys
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
        if case.get("warmup_fraction"):  # a fraction that rounds to no warmup
            ignored.add("warmup_fraction")
        if case.get("warmup_start_lr", 0.0) != 0.0:
            ignored.add("warmup_start_lr")
        if case.get("warmup_shape", "linear") != "linear":
            ignored.add("warmup_shape")
    if C == 0:
        if case.get("cooldown_fraction"):  # a fraction that rounds to no cooldown
            ignored.add("cooldown_fraction")
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
        (["scheduler=cosine", "scheduler.power=7"], "power=7"),
        (["scheduler=linear", "scheduler.timescale=77.0"], "timescale=77.0"),
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


def test_a_warning_from_instantiate_points_at_the_callers_line_and_names_the_full_key():
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    node = option_node("wsd")
    node.lr, node.end_lr = 1.0, 1e-5
    config = OmegaConf.create({"wd_schedule": node})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        instantiate(config.wd_schedule, run_steps=100)
    ours = [w for w in caught if issubclass(w.category, IgnoredFieldWarning)]
    assert [(w.filename, w.lineno) for w in ours] == [(__file__, line)]
    assert str(ours[0].message).startswith("wd_schedule.end_lr=1e-05 has no effect")


def test_a_warning_in_an_app_points_at_the_apps_line(user_app):
    proc = user_app.run("scheduler=wsd", "scheduler.end_lr=1e-5")
    assert re.search(r"app\.py:\d+: IgnoredFieldWarning: scheduler\.end_lr=1e-05", proc.stderr), (
        proc.stderr
    )
    assert "_instantiate2" not in proc.stderr


@pytest.mark.full  # the full lane (CI): a multirun
def test_a_sweep_across_families_sharing_a_field_runs_and_warns_once_per_job(user_app):
    proc = user_app.run(
        "-m", "scheduler=constant,cosine,linear,exponential", "scheduler.end_lr_factor=0.1"
    )
    assert proc.stderr.count("IgnoredFieldWarning") == 1, proc.stderr  # constant's job only
    for job in range(4):
        assert user_app.result(f"sweep/{job}")["values"]


@pytest.mark.full  # the full lane (CI): a multirun
def test_a_sweep_across_families_sets_a_field_of_one_family_by_its_plain_name(user_app):
    """``scheduler.<field>=<value>`` composes on every option, so one sweep sets a field that
    only some of its families use; the jobs of the others warn, naming it, and run."""
    user_app.run("-m", "scheduler=cosine,polynomial,wsd", "scheduler.power=3")
    warned = {}
    for job in range(3):
        result = user_app.result(f"sweep/{job}")
        assert result["scheduler"]["power"] == 3
        assert result["values"]
        warned[result["scheduler"]["name"]] = [
            w for w in result["warnings"] if w.startswith("IgnoredFieldWarning")
        ]
    assert warned["polynomial"] == []
    for family in ("cosine", "wsd"):
        assert len(warned[family]) == 1 and "power=3" in warned[family][0], warned
    # The polynomial job used it: its values are the polynomial of power 3.
    polynomial = next(
        user_app.result(f"sweep/{job}")
        for job in range(3)
        if user_app.result(f"sweep/{job}")["scheduler"]["name"] == "polynomial"
    )
    assert polynomial["values"][50] == pytest.approx(1e-3 * (1 - 50 / 100) ** 3, rel=1e-12)


@pytest.mark.parametrize(
    ("typo", "meant"), [("scheduler.powr=3", "power"), ("scheduler.cylces=4", "cycles")]
)
def test_a_typo_is_still_refused_on_every_option_naming_the_field_it_may_mean(
    user_app, typo, meant
):
    proc = user_app.run("scheduler=wsd", typo, check=False)
    assert proc.returncode != 0
    key = typo.split("=")[0]
    assert f"{key} is not a scheduler field; did you mean {meant}?" in proc.stderr
    assert not (user_app.root / "run" / "values.json").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["+scheduler=cosine", "scheduler.shape_params={exponent: 3}"], "shape_params.exponent"),
        (
            [
                "+scheduler=stages",
                "scheduler.stages=[{shape: linear, end: 0.1}]",
                "scheduler.stages.0.shape_params={exponent: 3}",
            ],
            "stages[0].shape_params.exponent",
        ),
    ],
)
def test_a_mapping_of_shape_parameters_composes_and_the_builder_names_a_wrong_one(overrides, field):
    """OmegaConf cannot merge a mapping into an Optional[Dict] node that is None (an
    AttributeError); the options type it Any, and the builder checks it."""
    from hydra import compose, initialize
    from hydra.utils import instantiate

    with initialize(version_base="1.3"):
        cfg = compose(overrides=[*overrides, "+scheduler.lr=1e-3", "scheduler.decay_steps=10"])
    with pytest.raises(Exception, match=re.escape(f"{field} is not a parameter")):
        instantiate(cfg.scheduler)
