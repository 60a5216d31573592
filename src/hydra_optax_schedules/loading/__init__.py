"""What :func:`hydra_optax_schedules.safe_load.load_schedule` reads: YAML text as OmegaConf reads
it (:mod:`.reading`), and OmegaConf's interpolations resolved over plain data as OmegaConf
resolves them, without running a resolver (:mod:`.interpolation`)."""
