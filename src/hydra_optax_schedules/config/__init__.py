"""What the user writes and what it means; no NumPy, no JAX.

- :mod:`.schema`: ``SchedulerConfig`` and ``StageConfig``, fields and defaults;
- :mod:`.families`: every ``name``, the family it selects, the fields each family uses;
- :mod:`.coerce`: a dataclass, a Hydra node or a mapping becomes a config's fields (one place
  for unknown keys and a missing ``lr``);
- :mod:`.parse`: plain data and ``repr`` strings become a config, never importing anything;
- :mod:`.normalize`: every field checked, into a :class:`NormalizedConfig`.

Hydra's options, generated from the schema, are :mod:`hydra_optax_schedules.hydra_options`.
"""

from typing import Any

from hydra_optax_schedules.config.families import SCHEDULE_NAMES, canonical_name, default_for
from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig

__all__ = ["SCHEDULE_NAMES", "SchedulerConfig", "StageConfig", "canonical_name", "default_for"]


def __getattr__(name: str) -> Any:
    """0.2.0's names here: the options (``CosineOption``, ``option_node``, ...) moved to
    :mod:`hydra_optax_schedules.hydra_options`; pickles of 0.2.0 still find them here."""
    from hydra_optax_schedules import hydra_options

    try:
        return getattr(hydra_options, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
