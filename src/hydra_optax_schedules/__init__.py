"""Learning-rate schedules for JAX/optax as a Hydra config group.

After ``pip install hydra-optax-schedules`` every Hydra app has a ``scheduler`` group
(``constant``, ``cosine``, ``linear``, ``exponential``, ``polynomial``, ``inverse_sqrt``,
``wsd``, ``multistep`` (step decay), ``stages`` (any piecewise schedule), and xlstm-jax's
``cosine_decay`` and ``exponential_decay``), and ``hydra.utils.instantiate(cfg.scheduler)``
returns a schedule. ``register_shape`` adds a shape of your own, as a family and as a stage,
warmup or cooldown shape.

The layers, each importing only those before it: ``values``, ``errors``, ``messages``;
``shapes`` (every formula); ``piece``; ``config`` (schema, families, coercion, parsing,
normalization); ``evaluate`` (host, select, indexed); ``plan`` (pieces with exact
boundaries); ``schedule`` (the ``Schedule`` and its builders); ``hydra_options``,
``safe_load``; ``optimizer`` (``OptimizerConfig`` and ``build_optimizer``: the optax
optimizer, its parameter groups and its plateau, from config); ``viewer``.
``docs/development.md`` says where each thing is computed.

Importing this package does not import JAX or optax; a schedule imports JAX the first time
it is called on a JAX array.
"""

from typing import TYPE_CHECKING, Any

from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.hydra_options import OPTION_CLASSES, SchedulerOption
from hydra_optax_schedules.optimizer import OptimizerConfig, ParamGroupConfig, PlateauConfig
from hydra_optax_schedules.resume import (
    ResumeCheck,
    branch_cooldown,
    branch_step,
    check_resume,
    check_resumes,
    cooldown_end,
    optimizer_step,
    saved_config,
    saved_configs,
)
from hydra_optax_schedules.safe_load import load_schedule
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler, build_schedule
from hydra_optax_schedules.shapes import Shape, register_shape

if TYPE_CHECKING:
    from hydra_optax_schedules.optimizer.build import build_optimizer
    from hydra_optax_schedules.optimizer.describe import describe_param_groups
    from hydra_optax_schedules.optimizer.hyperparams import applied_hyperparams

__all__ = [
    "OPTION_CLASSES",
    "IgnoredFieldWarning",
    "OptimizerConfig",
    "ParamGroupConfig",
    "PlateauConfig",
    "ResumeCheck",
    "Schedule",
    "ScheduleConfigError",
    "SchedulerConfig",
    "SchedulerOption",
    "Shape",
    "StageConfig",
    "applied_hyperparams",
    "branch_cooldown",
    "branch_step",
    "build_lr_scheduler",
    "build_optimizer",
    "build_schedule",
    "check_resume",
    "check_resumes",
    "cooldown_end",
    "describe_param_groups",
    "load_schedule",
    "optimizer_step",
    "register_shape",
    "saved_config",
    "saved_configs",
]

__version__ = "0.2.0"

#: The optimizer's names that import JAX and optax: imported when first used.
_OPTIMIZER_NAMES = ("build_optimizer", "applied_hyperparams", "describe_param_groups")


def __getattr__(name: str) -> Any:
    if name in _OPTIMIZER_NAMES:
        from hydra_optax_schedules import optimizer

        return getattr(optimizer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
