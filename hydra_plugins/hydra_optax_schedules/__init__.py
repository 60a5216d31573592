"""Hydra discovers hydra-optax-schedules through this package.

``searchpath`` adds the ``scheduler`` and ``optimizer`` groups to every app's search path, and
``config_source`` serves their options.
"""
