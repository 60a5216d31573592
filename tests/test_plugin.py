"""The module Hydra's plugin scanner imports: light, repeatable, and never fatal."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_plugin_discovery_imports_neither_jax_nor_optax():
    proc = run_python(
        """
        import sys
        from hydra.core.plugins import Plugins
        from hydra.plugins.search_path_plugin import SearchPathPlugin

        names = [p.__name__ for p in Plugins.instance().discover(SearchPathPlugin)]
        assert "OptaxSchedulesSearchPathPlugin" in names, names
        import hydra_optax_schedules  # the package's own top-level import, too
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "optax")))
        """
    )
    assert proc.stdout.strip() == "[]"


def test_compose_api_sees_the_group_without_any_search_path_setup():
    proc = run_python(
        """
        import sys
        from hydra import compose, initialize
        from hydra.utils import instantiate

        with initialize(version_base="1.3"):
            overrides = ["+scheduler=linear", "scheduler.lr=2.0", "scheduler.decay_steps=4"]
            cfg = compose(overrides=overrides)
        assert "jax" not in sys.modules
        schedule = instantiate(cfg.scheduler)
        print([schedule(s) for s in range(6)])
        """
    )
    assert proc.stdout.strip() == "[2.0, 1.5, 1.0, 0.5, 0.0, 0.0]"


def test_the_plugin_module_is_safe_to_execute_twice():
    run_python(
        """
        import runpy
        from hydra.core.config_store import ConfigStore

        import hydra_plugins.hydra_optax_schedules.searchpath as plugin

        for _ in range(2):
            runpy.run_path(plugin.__file__)
        from hydra_optax_schedules.config import SCHEDULE_NAMES

        group = ConfigStore.instance().list("hydra_optax_schedules/scheduler")
        assert sorted(group) == sorted(f"{name}.yaml" for name in SCHEDULE_NAMES), group
        """
    )


def test_a_broken_install_warns_instead_of_breaking_every_hydra_app():
    proc = run_python(
        """
        import sys
        import warnings

        sys.modules["hydra_optax_schedules.store"] = None  # any import of it now fails
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from hydra_plugins.hydra_optax_schedules import searchpath
        assert any("hydra-optax-schedules is not available" in str(w.message) for w in caught)

        from hydra._internal.config_search_path_impl import ConfigSearchPathImpl
        path = ConfigSearchPathImpl()
        searchpath.OptaxSchedulesSearchPathPlugin().manipulate_search_path(path)
        assert path.get_path() == [], path
        print("ok")
        """
    )
    assert proc.stdout.strip() == "ok"
