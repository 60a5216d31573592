"""The schedule viewer's own config (``viewer.yaml``), found as ``pkg://`` from any directory.

It is the viewer's own: the ``scheduler`` group every app has is served by the plugin
(``hydra_plugins/hydra_optax_schedules``), not from a config directory.
"""
