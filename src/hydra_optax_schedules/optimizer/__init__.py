"""The optimizer from config: xlstm-jax's ``OptimizerConfig`` and ``build_optimizer``.

The layers, each importing only those before it: ``config`` (the dataclasses), ``check``
(every value checked), ``options`` (Hydra's ``optimizer`` group) import neither JAX nor optax;
``paths`` (a parameter's path), ``groups`` (which parameter is in which group), ``build``
(the optax transformation), ``hyperparams`` (what to log) and ``describe`` (the groups as a
table) do. Importing this package imports only the first three.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydra_optax_schedules.optimizer.config import OptimizerConfig, ParamGroupConfig, PlateauConfig

if TYPE_CHECKING:
    from hydra_optax_schedules.optimizer.build import (
        build_optimizer,
        build_optimizer_from_fields,
        optimizer_schedules,
    )
    from hydra_optax_schedules.optimizer.describe import describe_param_groups
    from hydra_optax_schedules.optimizer.hyperparams import applied_hyperparams

__all__ = [
    "OptimizerConfig",
    "ParamGroupConfig",
    "PlateauConfig",
    "applied_hyperparams",
    "build_optimizer",
    "build_optimizer_from_fields",
    "describe_param_groups",
    "optimizer_schedules",
]

#: The names that import JAX and optax, and the module of each: imported when first used.
LAZY = {
    "build_optimizer": "build",
    "build_optimizer_from_fields": "build",
    "optimizer_schedules": "build",
    "applied_hyperparams": "hyperparams",
    "describe_param_groups": "describe",
}


def __getattr__(name: str) -> Any:
    if name in LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
