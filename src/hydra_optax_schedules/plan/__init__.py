"""The plan of a schedule: its pieces, with exact boundaries (integers and fractions).

- :mod:`.lengths`: fractions of the run, the warmup and cooldown lengths, the end value;
- :mod:`.cycles`: restarts of a decaying main phase;
- :mod:`.milestones`: step decay (``multistep``);
- :mod:`.stages`: any piecewise main phase (``stages``);
- :mod:`.assemble`: warmup, main phase and cooldown put together (:func:`plan_pieces`);
- :mod:`.ignored`: the fields set to no effect in a plan;
- :mod:`.units`: the exact step <-> count map of a run counted in samples, tokens or epochs.
"""

from hydra_optax_schedules.plan.assemble import Plan, plan, plan_pieces
from hydra_optax_schedules.plan.ignored import ineffective_fields

__all__ = ["Plan", "ineffective_fields", "plan", "plan_pieces"]
