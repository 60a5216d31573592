"""Register the ``scheduler`` options' schemas in Hydra's ConfigStore.

The options a user selects (``scheduler=cosine``) are YAML files in this package's
``conf/scheduler/``, found through the search path that the plugin in ``hydra_plugins/``
adds. Each one extends a typed schema stored here under ``hydra_optax_schedules/scheduler``,
so Hydra rejects ``scheduler.lr=abc`` and ``scheduler.typo=1``. Schemas and options are
kept under different names on purpose: a user's own ``conf/scheduler/cosine.yaml`` then
simply replaces ours, instead of being silently validated against our schema (Hydra's
deprecated "automatic schema matching").
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from hydra_optax_schedules.config import OPTION_CLASSES, SCHEDULE_NAMES

__all__ = ["SCHEMA_GROUP", "register_configs"]

SCHEMA_GROUP = "hydra_optax_schedules/scheduler"


def register_configs() -> None:
    """Store one schema per option; storing again replaces the same nodes (idempotent)."""
    store = ConfigStore.instance()
    for name, family in SCHEDULE_NAMES.items():
        store.store(
            group=SCHEMA_GROUP,
            name=name,
            node=OPTION_CLASSES[family](name=name),
            provider="hydra-optax-schedules",
        )
