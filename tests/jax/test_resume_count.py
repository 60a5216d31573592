"""The resume step is the optimizer state's ``count``: the step of the next update, whatever
the optimizer nests it in, so that a resumed run evaluates its schedule at each step once."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

from hydra_optax_schedules import build_lr_scheduler, optimizer_step

SCHEDULE = build_lr_scheduler({"lr": 1.0, "name": "linear", "decay_steps": 10, "warmup_steps": 2})


@pytest.mark.parametrize(
    "make",
    [
        lambda: optax.inject_hyperparams(optax.adamw)(learning_rate=SCHEDULE),
        lambda: optax.adamw(SCHEDULE),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_schedule(SCHEDULE)),
        lambda: optax.MultiSteps(optax.sgd(SCHEDULE), every_k_schedule=1),
        # Its own count is of the losses it averages (3 here), not of the steps.
        lambda: optax.chain(
            optax.adam(SCHEDULE), optax.contrib.reduce_on_plateau(accumulation_size=3)
        ),
    ],
    ids=["inject_hyperparams", "adamw", "chain", "multisteps", "plateau"],
)
def test_the_count_is_the_number_of_updates_and_the_next_one_uses_it(make):
    optimizer = make()
    params = {"w": jnp.ones(3)}
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    for done in range(4):
        assert optimizer_step(state) == done
        _, state = update({"w": jnp.ones(3)}, state, params, value=jnp.asarray(1.0))
    assert optimizer_step(state) == 4


def test_the_next_update_of_a_restored_state_uses_the_schedule_at_its_count():
    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=SCHEDULE)
    params = jnp.zeros(())
    state = optimizer.init(params)
    for _ in range(5):
        _, state = optimizer.update(jnp.ones(()), state, params)
    restored = jax.tree_util.tree_map(lambda leaf: jnp.asarray(jax.device_get(leaf)), state)
    step = optimizer_step(restored)
    _, after = optimizer.update(jnp.ones(()), restored, params)
    # inject_hyperparams stores the learning rate the update applied: schedule(count).
    assert float(after.hyperparams["learning_rate"]) == pytest.approx(SCHEDULE(step), rel=1e-6)
    assert step == 5


def test_a_state_without_a_count_or_with_two_is_refused():
    with pytest.raises(ValueError, match="no count"):
        optimizer_step(optax.sgd(0.1).init(jnp.zeros(3)))
    two = (
        optax.ScaleByScheduleState(count=jnp.asarray(1)),
        optax.ScaleByScheduleState(count=jnp.asarray(2)),
    )
    with pytest.raises(ValueError, match=r"counts \[1, 2\]"):
        optimizer_step(two)
