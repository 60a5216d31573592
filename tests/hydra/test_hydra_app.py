"""End to end: a user's own Hydra app, in a subprocess, composes and builds the schedules."""

from __future__ import annotations

import pytest

from support.reference import reference_lr


def assert_matches_reference(result, **config):
    steps = range(len(result["values"]))
    expected = [reference_lr(s, **config) for s in steps]
    assert result["values"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_help_lists_the_scheduler_group(user_app):
    proc = user_app.run("--help")
    options = (
        "constant, cosine, cosine_decay, exponential, exponential_decay, inverse_sqrt, linear, "
        "multistep, polynomial, stages, wsd"
    )
    assert f"\nscheduler: {options}\n" in proc.stdout


def test_overrides_give_the_reference_values(user_app):
    user_app.run(
        "scheduler=linear",
        "scheduler.lr=3e-4",
        "scheduler.warmup_steps=10",
        "scheduler.cooldown_steps=20",
        "scheduler.cooldown_lr=1e-6",
        "scheduler.end_lr_factor=0.5",
    )
    result = user_app.result()
    assert result["scheduler"]["name"] == "linear"
    assert_matches_reference(
        result,
        name="linear",
        lr=3e-4,
        decay_steps=100,
        warmup_steps=10,
        cooldown_steps=20,
        cooldown_lr=1e-6,
        end_lr_factor=0.5,
    )
    assert result["heavy_modules_before_instantiate"] == []


def test_runtime_decay_steps_and_partial(user_app):
    user_app.run("scheduler.decay_steps=null", "runtime_steps=50")
    assert_matches_reference(user_app.result(), name="cosine", lr=1e-3, decay_steps=50)
    user_app.run(
        "scheduler=exponential_decay",
        "scheduler.decay_steps=null",
        "scheduler._partial_=true",
        "scheduler.end_lr=1e-5",
        "trainer.max_steps=80",
    )
    assert_matches_reference(
        user_app.result(), name="exponential", lr=1e-3, decay_steps=80, end_lr=1e-5
    )


@pytest.mark.full  # the full lane (CI): a multirun over every option
def test_multirun_over_every_option(user_app):
    names = ["constant", "cosine", "linear", "exponential", "cosine_decay", "exponential_decay"]
    user_app.run(
        "-m",
        f"scheduler={','.join(names)}",
        "scheduler.end_lr_factor=0.1",
        "scheduler.warmup_steps=5",
    )
    for job, name in enumerate(names):
        result = user_app.result(f"sweep/{job}")
        assert result["scheduler"]["name"] == name
        assert_matches_reference(
            result, name=name, lr=1e-3, decay_steps=100, warmup_steps=5, end_lr_factor=0.1
        )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("scheduler.lr=abc", "scheduler.lr"),
        ("scheduler.typo=1", "typo"),
        ("scheduler.warmup_steps=1.5", "scheduler.warmup_steps"),
        (
            "scheduler.warmup_steps=101",
            "scheduler.warmup_steps=101 + scheduler.cooldown_steps=0 > scheduler.decay_steps=100",
        ),
        ("scheduler.end_lr=-1", "scheduler.end_lr=-1 is invalid"),
        ("scheduler=cosin", "cosine"),
        ("scheduler.name=cosin", "scheduler.name='cosin' is invalid"),
        ("scheduler.lr=???", "scheduler.lr"),
        ("scheduler.powr=2", "scheduler.powr is not a scheduler field; did you mean power?"),
        (
            "scheduler.warmup=10",
            "scheduler.warmup is not a scheduler field; did you mean warmup_steps, warmup_shape, "
            "warmup_start_lr or warmup_fraction?",
        ),
        ("scheduler.cooldown_shape=1-sqrt", "scheduler.cooldown_shape='1-sqrt' is invalid"),
        ("scheduler.cooldown_fraction=abc", "scheduler.cooldown_fraction"),
    ],
)
def test_bad_overrides_fail_naming_the_field(user_app, override, message):
    proc = user_app.run(override, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (user_app.root / "run" / "values.json").exists()


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_an_app_that_passes_run_steps_refuses_another_decay_steps_naming_both(user_app):
    # The user's config sets decay_steps: ${trainer.max_steps} (100); the app counts 300.
    proc = user_app.run("run_steps=300", check=False)
    assert proc.returncode != 0
    assert (
        "scheduler.decay_steps=100 (set in the config) and run_steps=300 (the run length passed "
        "when the schedule is built) disagree: leave scheduler.decay_steps unset to take the run "
        "length, or set it to 300"
    ) in proc.stderr
    assert not (user_app.root / "run" / "values.json").exists()
    user_app.run("run_steps=100")
    assert_matches_reference(user_app.result(), name="cosine", lr=1e-3, decay_steps=100)
    user_app.run("run_steps=60", "scheduler.decay_steps=null")
    assert_matches_reference(user_app.result(), name="cosine", lr=1e-3, decay_steps=60)


def test_exponential_without_an_end_value_fails_before_the_run(user_app):
    proc = user_app.run("scheduler=exponential", check=False)
    assert proc.returncode != 0
    assert "exponential decay needs an end value > 0" in proc.stderr
    assert "full_key: scheduler" in proc.stderr


def test_a_users_own_option_file_wins(user_app):
    user_app.write(
        "conf/scheduler/cosine.yaml",
        """
        _target_: hydra_optax_schedules.build_schedule
        lr: 0.5
        name: linear
        decay_steps: 10
        """,
    )
    user_app.write("conf/scheduler/mine.yaml", "my_own_field: 1\n")
    proc = user_app.run("scheduler.lr=0.5", "probe_steps=12")
    assert "schema" not in proc.stderr.lower()
    assert_matches_reference(user_app.result(), name="linear", lr=0.5, decay_steps=100)
    proc = user_app.run("--cfg", "job", "scheduler=mine")
    assert "my_own_field: 1" in proc.stdout


def test_the_new_options_compose_and_build(user_app):
    user_app.run(
        "-m",
        "scheduler=wsd,polynomial,inverse_sqrt",
        "scheduler.warmup_fraction=0.05",
        "scheduler.warmup_start_lr=1e-5",
        "scheduler.cooldown_shape=cosine",
    )
    common = dict(
        lr=1e-3,
        decay_steps=100,
        warmup_fraction=0.05,
        warmup_start_lr=1e-5,
        cooldown_shape="cosine",
    )
    assert_matches_reference(
        user_app.result("sweep/0"), name="wsd", cooldown_fraction=0.2, **common
    )
    assert_matches_reference(user_app.result("sweep/1"), name="polynomial", **common)
    assert_matches_reference(user_app.result("sweep/2"), name="inverse_sqrt", **common)
