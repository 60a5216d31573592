"""Shared fixtures (a user's own Hydra app: ``support/user_app.py``), the hypothesis profiles, and
the ``properties`` marker. The helpers the tests share are in the package ``support/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from support.user_app import UserApp


@pytest.fixture
def user_app(tmp_path: Path) -> UserApp:
    return UserApp(tmp_path / "user_project")


# Hypothesis profiles. "dev", the default (the default lane: ``pytest -n auto``), is
# reproducible (the same examples on every run, no example database) and runs 50 examples per
# property; "ci", the full lane's (``pytest -n auto -m "full or properties"
# --hypothesis-profile=ci``, in .ci/run) and mutation testing's, the same with at least 500;
# "thorough" explores many more:
#     pytest tests/jax/test_properties.py --hypothesis-profile=thorough
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("dev")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every hypothesis test ``properties``: the full lane selects them to rerun them with
    the ``ci`` profile's 500 examples (pyproject.toml's markers).

    In the full lane, run the long tests first: those of ``tests/integration`` (fresh
    virtualenvs, subprocesses) and the properties, each in its collected order. pytest-xdist
    hands tests out in order, so a long one near the end keeps one worker busy while the other
    idles (the full lane ended on a 110 s release test); first, the short ones fill in around
    them. (The default lane, without such long tests, keeps the collected order: measured
    faster.)"""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.properties)

    def long_first(item: pytest.Item) -> int:
        if "integration" in item.path.parts:
            return 0
        return 1 if item.get_closest_marker("properties") else 2

    expression = config.option.markexpr or ""  # the default lane's is "not full"
    if "full" in expression and "not full" not in expression:
        items[:] = sorted(items, key=long_first)  # stable: the collected order within each


@pytest.fixture
def restore_registry():
    """Whatever a test registers with ``register_shape`` is gone after it: other tests see
    the built-in shapes, families and Hydra options."""
    from hydra_optax_schedules import hydra_options, shapes
    from hydra_optax_schedules.config import families

    live = (shapes.SHAPES, families.SCHEDULE_NAMES, hydra_options.OPTION_CLASSES)
    saved = [dict(table) for table in live]
    attributes = set(vars(hydra_options))
    yield
    for table, copy in zip(live, saved, strict=True):
        table.clear()
        table.update(copy)
    for name in set(vars(hydra_options)) - attributes:  # CosinePowOption, CosinePowParams
        delattr(hydra_options, name)
