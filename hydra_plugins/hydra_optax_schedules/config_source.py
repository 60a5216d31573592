"""Serves the ``scheduler`` group's options to Hydra, building an option only when it is used.

Hydra's plugin scanner imports this module at every app start and again in every joblib or
submitit worker. It imports nothing of ``hydra_optax_schedules`` (let alone JAX or optax) and
is safe to execute twice: the package is imported only when an app looks inside the
``scheduler`` group.

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
SCHEME = "hydra-optax-schedules"


def _option_names() -> list[str]:
    """Our options that the app has not registered in Hydra's ConfigStore itself."""
    from hydra_optax_schedules.config.families import SCHEDULE_NAMES

    store = ConfigStore.instance()
    return sorted(
        name
        for name in SCHEDULE_NAMES
        if store.get_type(f"{GROUP}/{name}.yaml") is not ObjectType.CONFIG
    )


def _option_name(config_path: str) -> str | None:
    """``"scheduler/cosine"`` (or ``.yaml``) -> ``"cosine"``; None outside the group."""
    group, _, name = config_path.strip("/").removesuffix(".yaml").rpartition("/")
    return name if group == GROUP else None


def _served_option(config_path: str) -> str | None:
    """The option ``config_path`` names if we serve it (see ``_option_names``), else None."""
    name = _option_name(config_path)
    return name if name is not None and name in _option_names() else None


class OptaxSchedulesConfigSource(ConfigSource):
    """The ``scheduler`` group: one typed structured config per option, with a ``_target_``."""

    @staticmethod
    def scheme() -> str:
        return SCHEME

    def available(self) -> bool:
        return importlib.util.find_spec("hydra_optax_schedules") is not None

    def is_group(self, config_path: str) -> bool:
        return config_path.strip("/") in ("", GROUP)

    def is_config(self, config_path: str) -> bool:
        return _served_option(config_path) is not None

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        path = config_path.strip("/")
        if path == "" and results_filter in (None, ObjectType.GROUP):
            return [GROUP]
        if path == GROUP and results_filter in (None, ObjectType.CONFIG):
            return _option_names()
        return []

    def load_config(self, config_path: str) -> ConfigResult:
        name = _served_option(config_path)
        if name is None:
            raise ConfigLoadError(f"{SCHEME}: no config '{config_path}'")
        from hydra_optax_schedules.hydra_options import option_node

        return ConfigResult(
            config=option_node(name),
            path=f"{SCHEME}://{self.path}",
            provider=self.provider,
            header={"package": None},
        )
