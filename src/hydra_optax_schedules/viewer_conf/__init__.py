"""The schedule viewer's own config (``viewer.yaml``), found as ``pkg://`` from any directory.

It is kept out of ``hydra_optax_schedules.conf``: that package is on every Hydra app's search
path and holds only the ``scheduler`` group.
"""
