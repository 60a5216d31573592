"""Hydra discovers hydra-optax-schedules through this package (see ``searchpath``)."""
