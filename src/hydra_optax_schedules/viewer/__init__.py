"""The schedule viewer, ``lrview``: see a schedule before training with it.

- :mod:`.app`: the Hydra app (``main``), its options and the files it writes;
- :mod:`.sampling`: which steps a preview evaluates, and the mean from them;
- :mod:`.table`: the values at those steps, and ``schedule.csv``;
- :mod:`.summary`: the pieces, peak, final and mean value a person checks;
- :mod:`.labels`: how numbers, ticks and a sweep's swept values are written;
- :mod:`.plots`: the terminal plot and ``schedule.png`` (the ``viz`` extra);
- :mod:`.comparison`: :class:`CompareSchedules`, the Hydra callback that compares a sweep's
  schedules (any app enables it; ``lrview`` does);
- ``conf/viewer.yaml``: the app's config.
"""

from hydra_optax_schedules.viewer.app import CONFIG_PATH, ViewerError, main, preview, view
from hydra_optax_schedules.viewer.comparison import CompareSchedules

__all__ = ["CONFIG_PATH", "CompareSchedules", "ViewerError", "main", "preview", "view"]
