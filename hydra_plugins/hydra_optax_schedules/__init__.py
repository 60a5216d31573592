"""Hydra discovers hydra-optax-schedules through this package.

``searchpath`` adds the ``scheduler`` group to every app's search path, and ``config_source``
serves its options.
"""
