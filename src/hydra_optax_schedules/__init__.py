"""Learning-rate schedules for JAX/optax as a Hydra config group.

After ``pip install hydra-optax-schedules`` every Hydra app has a ``scheduler`` group
(``constant``, ``cosine``, ``linear``, ``exponential``, ``polynomial``, ``inverse_sqrt``,
``wsd``, ``multistep`` (step decay), ``stages`` (any piecewise schedule), and xlstm-jax's
``cosine_decay`` and ``exponential_decay``), and ``hydra.utils.instantiate(cfg.scheduler)``
returns a schedule.

Importing this package does not import JAX or optax; a schedule imports JAX the first time
it is called on a JAX array.
"""

from hydra_optax_schedules.config import (
    OPTION_CLASSES,
    SchedulerConfig,
    SchedulerOption,
    StageConfig,
)
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.safe_load import load_schedule
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler, build_schedule

__all__ = [
    "OPTION_CLASSES",
    "IgnoredFieldWarning",
    "Schedule",
    "ScheduleConfigError",
    "SchedulerConfig",
    "SchedulerOption",
    "StageConfig",
    "build_lr_scheduler",
    "build_schedule",
    "load_schedule",
]

__version__ = "0.2.0"
