"""A plan's values: at one host step (:mod:`.host`), or over an array of steps in NumPy or
JAX (:mod:`.arrays`: a few pieces by :mod:`.select`, many by :mod:`.indexed`)."""

from hydra_optax_schedules.evaluate.arrays import values_over
from hydra_optax_schedules.evaluate.host import value_at

__all__ = ["value_at", "values_over"]
