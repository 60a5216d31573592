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


def test_plugin_discovery_imports_neither_jax_nor_optax_nor_the_package():
    proc = run_python(
        """
        import sys
        from hydra.core.plugins import Plugins
        from hydra.plugins.config_source import ConfigSource
        from hydra.plugins.search_path_plugin import SearchPathPlugin

        names = [p.__name__ for p in Plugins.instance().discover(SearchPathPlugin)]
        assert "OptaxSchedulesSearchPathPlugin" in names, names
        sources = [p.__name__ for p in Plugins.instance().discover(ConfigSource)]
        assert "OptaxSchedulesConfigSource" in sources, sources
        print(sorted(m for m in sys.modules if m.split(".")[0] == "hydra_optax_schedules"))
        import hydra_optax_schedules  # the package's own top-level import: still no JAX
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "optax")))
        """
    )
    assert proc.stdout.splitlines() == ["[]", "[]"]


def test_an_app_that_does_not_use_the_group_never_imports_the_package(tmp_path):
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import sys
            import hydra

            @hydra.main(version_base="1.3", config_path=None, config_name=None)
            def main(cfg):
                print([m for m in sys.modules if m.startswith("hydra_optax_schedules")])

            main()
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "app.py", "+x=1", f"hydra.run.dir={tmp_path}/run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
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


def test_the_plugin_modules_are_safe_to_execute_twice():
    proc = run_python(
        """
        import runpy
        from hydra import compose, initialize

        import hydra_plugins.hydra_optax_schedules.config_source as source
        import hydra_plugins.hydra_optax_schedules.searchpath as searchpath

        for _ in range(2):
            runpy.run_path(searchpath.__file__)
            runpy.run_path(source.__file__)
        with initialize(version_base="1.3"):
            cfg = compose(overrides=["+scheduler=wsd", "scheduler.lr=1.0"])
        print(cfg.scheduler.cooldown_shape)
        """
    )
    assert proc.stdout.strip() == "sqrt"


def test_the_options_are_typed_structured_configs():
    from hydra.core.object_type import ObjectType

    from hydra_optax_schedules.config import SCHEDULE_NAMES
    from hydra_optax_schedules.optimizer.config import OPTIMIZER_NAMES
    from hydra_plugins.hydra_optax_schedules.config_source import OptaxSchedulesConfigSource

    source = OptaxSchedulesConfigSource(provider="test", path="hydra-optax-schedules://x")
    assert source.list("", ObjectType.GROUP) == ["scheduler", "optimizer"]
    assert source.list("scheduler", ObjectType.CONFIG) == sorted(SCHEDULE_NAMES)
    assert source.list("optimizer", ObjectType.CONFIG) == sorted(OPTIMIZER_NAMES)
    assert source.is_config("optimizer/adamw") and not source.is_config("optimizer/adamww")
    assert source.is_config("scheduler/cosine") and source.is_config("scheduler/wsd.yaml")
    assert not source.is_config("db/cosine") and not source.is_config("scheduler/cosin")
    node = source.load_config("scheduler/cosine_decay").config
    assert type(node).__name__ == "DictConfig"
    assert node._metadata.object_type.__name__ == "CosineOption"
    assert node.name == "cosine_decay"


def test_an_option_the_app_put_in_the_configstore_is_not_ours():
    proc = run_python(
        """
        from hydra.core.config_store import ConfigStore
        from hydra.core.object_type import ObjectType
        from hydra.plugins.config_source import ConfigLoadError

        from hydra_plugins.hydra_optax_schedules.config_source import OptaxSchedulesConfigSource

        ConfigStore.instance().store(group="scheduler", name="cosine", node={"lr": 1.0})
        source = OptaxSchedulesConfigSource(provider="test", path="hydra-optax-schedules://x")
        print(source.is_config("scheduler/cosine"), source.is_config("scheduler/linear"))
        print("cosine" in source.list("scheduler", ObjectType.CONFIG))
        try:
            source.load_config("scheduler/cosine")
        except ConfigLoadError as error:
            print(error)
        """
    )
    assert proc.stdout.splitlines() == [
        "False True",
        "False",
        "hydra-optax-schedules: no config 'scheduler/cosine'",
    ]
