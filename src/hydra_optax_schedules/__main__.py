"""``python -m hydra_optax_schedules``: the schedule viewer (see :mod:`.viewer`)."""

from hydra_optax_schedules.viewer import main

if __name__ == "__main__":
    main()
