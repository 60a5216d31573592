"""A user's own option extends one of ours, as docs/hydra-app.md shows, and is a schedule."""

from __future__ import annotations

import pytest

from support.reference import reference_lr

COSINE_SQRT = """
defaults:
  - cosine
  - _self_

cooldown_fraction: 0.1
cooldown_shape: sqrt
"""


def test_an_option_that_extends_ours_builds_its_schedule(user_app):
    user_app.write("conf/scheduler/cosine_sqrt.yaml", COSINE_SQRT)
    user_app.run("scheduler=cosine_sqrt")
    result = user_app.result()
    assert result["scheduler"]["_target_"] == "hydra_optax_schedules.build_schedule"
    expected = [
        reference_lr(
            step,
            name="cosine",
            lr=1e-3,
            decay_steps=100,
            cooldown_fraction=0.1,
            cooldown_shape="sqrt",
        )
        for step in range(len(result["values"]))
    ]
    assert result["values"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_an_option_that_extends_ours_names_a_typo_and_is_listed(user_app):
    user_app.write("conf/scheduler/cosine_sqrt.yaml", COSINE_SQRT)
    proc = user_app.run("scheduler=cosine_sqrt", "scheduler.powr=2", check=False)
    assert proc.returncode != 0
    assert "scheduler.powr is not a scheduler field; did you mean power?" in proc.stderr
    assert "cosine_sqrt" in user_app.run("--help").stdout
