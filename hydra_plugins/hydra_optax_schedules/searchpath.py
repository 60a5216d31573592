"""Puts the ``scheduler`` config group into every Hydra app.

Hydra imports this module at every app start, and again in every joblib or submitit
worker. So it imports no JAX or optax, is safe to execute twice, and never raises: a
broken install warns instead of breaking every Hydra app on the machine.
"""

import warnings

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

try:
    from hydra_optax_schedules.store import register_configs

    register_configs()
    _REGISTERED = True
except Exception as error:  # must never break the user's app
    warnings.warn(f"hydra-optax-schedules is not available: {error!r}", stacklevel=1)
    _REGISTERED = False


class OptaxSchedulesSearchPathPlugin(SearchPathPlugin):
    """Appends ``pkg://hydra_optax_schedules.conf``, where the ``scheduler`` options live.

    It is appended after the app's own config directory, so a user's
    ``conf/scheduler/<name>.yaml`` wins over ours.
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if _REGISTERED:
            search_path.append(
                provider="hydra-optax-schedules", path="pkg://hydra_optax_schedules.conf"
            )
