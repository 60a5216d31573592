"""Config files of the ``scheduler`` group, on every Hydra app's search path."""
