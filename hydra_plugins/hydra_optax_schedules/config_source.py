"""Serves the ``scheduler`` and ``optimizer`` groups' options to Hydra, building an option
only when it is used.

Hydra's plugin scanner imports this module at every app start and again in every joblib or
submitit worker. It imports nothing of ``hydra_optax_schedules`` (let alone JAX or optax) and
is safe to execute twice: the package is imported only when an app looks inside the
``scheduler`` or ``optimizer`` group (and neither group's options import JAX or optax).

A user's own option of the same name replaces ours, however it arrives:

- ``conf/scheduler/<name>.yaml``: the app's config dir comes before us on the search path.
- ``ConfigStore.instance().store(group="scheduler", name=<name>, ...)`` (hydra-zen's
  ``store`` too): Hydra's ConfigStore is the ``schema`` source, always last on the search
  path, and a config found in an earlier source is merged into the ConfigStore node of the
  same name ("automatic schema matching"): our typed option into the user's dataclass, which
  fails ("CosineOption is not a subclass of MyCosine"). So we step aside: an option the
  ConfigStore holds is not ours (``is_config`` is False), and Hydra loads the user's node
  as is.

Options come from here rather than from the ConfigStore for the same reason: a user's YAML
file is never matched against a schema of ours.
"""

from __future__ import annotations

import importlib.util

from hydra.core.config_store import ConfigStore
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource

GROUP = "scheduler"
OPTIMIZER_GROUP = "optimizer"
GROUPS = (GROUP, OPTIMIZER_GROUP)
SCHEME = "hydra-optax-schedules"


def _all_names(group: str) -> list[str]:
    """Every option of ``group`` (imports the package, neither JAX nor optax)."""
    if group == OPTIMIZER_GROUP:
        from hydra_optax_schedules.optimizer.config import OPTIMIZER_NAMES

        return list(OPTIMIZER_NAMES)
    from hydra_optax_schedules.config.families import SCHEDULE_NAMES

    return list(SCHEDULE_NAMES)


def _option_names(group: str = GROUP) -> list[str]:
    """Our options of ``group`` that the app has not registered in Hydra's ConfigStore."""
    store = ConfigStore.instance()
    return sorted(
        name
        for name in _all_names(group)
        if store.get_type(f"{group}/{name}.yaml") is not ObjectType.CONFIG
    )


def _option_name(config_path: str) -> tuple[str, str] | None:
    """``"scheduler/cosine"`` (or ``.yaml``) -> ``("scheduler", "cosine")``; None outside
    our groups."""
    group, _, name = config_path.strip("/").removesuffix(".yaml").rpartition("/")
    return (group, name) if group in GROUPS else None


def _served_option(config_path: str) -> tuple[str, str] | None:
    """The option ``config_path`` names if we serve it (see ``_option_names``), else None."""
    found = _option_name(config_path)
    return found if found is not None and found[1] in _option_names(found[0]) else None


class OptaxSchedulesConfigSource(ConfigSource):
    """The ``scheduler`` and ``optimizer`` groups: one typed structured config per option,
    with a ``_target_``."""

    @staticmethod
    def scheme() -> str:
        return SCHEME

    def available(self) -> bool:
        return importlib.util.find_spec("hydra_optax_schedules") is not None

    def is_group(self, config_path: str) -> bool:
        return config_path.strip("/") in ("", *GROUPS)

    def is_config(self, config_path: str) -> bool:
        return _served_option(config_path) is not None

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        path = config_path.strip("/")
        if path == "" and results_filter in (None, ObjectType.GROUP):
            return list(GROUPS)
        if path in GROUPS and results_filter in (None, ObjectType.CONFIG):
            return _option_names(path)
        return []

    def load_config(self, config_path: str) -> ConfigResult:
        found = _served_option(config_path)
        if found is None:
            raise ConfigLoadError(f"{SCHEME}: no config '{config_path}'")
        group, name = found
        if group == OPTIMIZER_GROUP:
            from hydra_optax_schedules.optimizer.options import optimizer_option_node

            config = optimizer_option_node(name)
        else:
            from hydra_optax_schedules.hydra_options import option_node

            config = option_node(name)
        return ConfigResult(
            config=config,
            path=f"{SCHEME}://{self.path}",
            provider=self.provider,
            header={"package": None},
        )
