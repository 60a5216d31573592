"""What the tests share; ``pythonpath = ["tests"]`` (pyproject.toml) makes it ``support``.

- ``reference.py``: the exact reference of every family (``decimal``, ``math``), written from
  the docs; ``composed_reference.py``: the same for composed schedules (cycles, milestones,
  stages, the cooldown's start). Neither imports ``hydra_optax_schedules``: a reference that
  shared the package's code would share its bugs (``tests/core/test_layout.py`` checks it).
- ``tolerance.py``: how far the host (float64) and JAX (float32) values may be from the
  reference, and the run lengths a config resolves to.
- ``generators.py``: hypothesis strategies (configs, steps) and the builders they feed.
- ``composed_checks.py``: a composed schedule against its reference, at every boundary.
- ``entry_paths.py``: the one registry of the ways a config reaches the builder.
- ``user_app.py``: ``UserApp``, a user's own Hydra app in a temp dir (``USER_APP``,
  ``USER_CONFIG``; the ``user_app`` fixture of ``tests/conftest.py``).
- ``sweeps.py``: running the example trainer's sweeps and reading their jobs.
- ``venvs.py``: fresh virtualenvs, the wheel and the release build.
- ``markdown_blocks.py``: the fenced code blocks of the docs; ``pip_check.py`` stands in for
  ``pip`` in the docs test.
- ``lanes.py``: how a costly test shares its cases and examples between the default lane and
  the full lane.
- ``benchmark_run.py``: the sections ``benchmarks/run.py`` measures, read from its source.
"""
