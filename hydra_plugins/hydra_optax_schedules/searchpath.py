"""Puts the ``scheduler`` and ``optimizer`` config groups into every Hydra app.

Hydra imports this module at every app start, and again in every joblib or submitit worker:
it imports nothing but Hydra itself, so it costs next to nothing, is safe to execute twice
and cannot fail. The options are served by ``config_source.OptaxSchedulesConfigSource``.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class OptaxSchedulesSearchPathPlugin(SearchPathPlugin):
    """Appends ``hydra-optax-schedules://``, where the ``scheduler`` and ``optimizer`` options live.

    It is appended after the app's own config directory, so a user's
    ``conf/scheduler/<name>.yaml`` wins over ours.
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(
            provider="hydra-optax-schedules", path="hydra-optax-schedules://hydra_optax_schedules"
        )
