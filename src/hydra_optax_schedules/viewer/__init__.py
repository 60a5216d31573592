"""The schedule viewer, ``lrview``: see a schedule before training with it.

- :mod:`.app`: the Hydra app (``main``), its options and the files it writes;
- :mod:`.sampling`: which steps a preview evaluates, and the mean from them;
- :mod:`.table`: the values at those steps, and ``schedule.csv``;
- :mod:`.summary`: the pieces, peak, final and mean value a person checks;
- :mod:`.plots`: the terminal plot and ``schedule.png`` (the ``viz`` extra);
- :mod:`.comparison`: the Hydra callback that draws a sweep's ``comparison.png``;
- ``conf/viewer.yaml``: the app's config.
"""

from hydra_optax_schedules.viewer.app import CONFIG_PATH, ViewerError, main, preview, view

__all__ = ["CONFIG_PATH", "ViewerError", "main", "preview", "view"]
