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

from hydra_optax_schedules.config.families import (
    FAMILY_DEFAULTS,
    SCHEDULE_NAMES,
    WSD_COOLDOWN_FRACTION,
    canonical_name,
    decaying_families,
    default_for,
)
from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig
from hydra_optax_schedules.shapes import shapes_for

__all__ = [
    "FAMILY_DEFAULTS",
    "SCHEDULE_NAMES",
    "WSD_COOLDOWN_FRACTION",
    "SchedulerConfig",
    "StageConfig",
    "canonical_name",
    "default_for",
]

#: 0.2.0's tuples of names, now read from the registry (they grow as shapes are registered).
_DERIVED = {
    "WARMUP_SHAPES": lambda: shapes_for("warmup"),
    "COOLDOWN_SHAPES": lambda: shapes_for("cooldown"),
    "STAGE_SHAPES": lambda: shapes_for("stage"),
    "DECAYING": decaying_families,
}


def __getattr__(name: str) -> Any:
    """0.2.0's names here: the tuples of shapes and decaying families (from the registry),
    and the options (``CosineOption``, ``option_node``, ...), which moved to
    :mod:`hydra_optax_schedules.hydra_options`; pickles of 0.2.0 still find them here."""
    if name in _DERIVED:
        return _DERIVED[name]()
    from hydra_optax_schedules import hydra_options

    try:
        return getattr(hydra_options, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
