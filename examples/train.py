"""A small but real training run whose optimizer comes from the ``optimizer`` group.

    python examples/train.py                       # AdamW, cosine with warmup: conf/train.yaml
    python examples/train.py scheduler=linear scheduler.lr=1e-2 steps=2000
    python examples/train.py -m scheduler=constant,cosine,linear,exponential \\
        scheduler.end_lr_factor=0.1
    python examples/train.py optimizer=lamb optimizer.weight_decay=0.01
    python examples/train.py '+optimizer.param_groups={head:{match:[^head],lr_mult:10}}'

An MLP fits a fixed synthetic regression problem with plain JAX and optax, on the CPU in
seconds. The pattern to copy is :func:`make_schedule` and :func:`make_optimizer`:
``instantiate(cfg.scheduler, run_steps=cfg.steps)`` builds the schedule with the run length
the trainer counts (``run_steps``: it fills an unset ``decay_steps``; a different one is an
error naming both), and ``instantiate(cfg.optimizer, scheduler=schedule, run_steps=cfg.steps)``
returns the optax transformation of the configured optimizer and its parameter groups.

At start the trainer prints which parameters fall in which group
(``describe_param_groups``). Each run writes ``metrics.csv`` into its Hydra run directory,
one row per update:

- ``step``: the update's index, ``0 .. steps - 1``: the optimizer's step count when it was
  made, at which the schedule is evaluated, so the first update uses ``schedule(0)``, which
  is 0 during a warmup.
- ``loss``: the mini-batch loss of the parameters the update started from.
- ``lr``, ``weight_decay``: what that update applied to the parameters no group matches
  (``"default"``), read back from the optimizer state by ``applied_hyperparams``; for AdamW the
  weight decay is the fraction the weights shrank by, ``schedule(step) * weight_decay``.
- ``lr[<group>]``, ``weight_decay[<group>]``: the same for each parameter group, then
  ``plateau_scale`` if the optimizer has a plateau.

The task returns the final loss over the whole data set, for a sweeper to minimize.

Checkpoints (docs/resume.md): with ``checkpoint_every=N`` the run saves, every ``N`` updates,
the parameters and optimizer state (orbax-checkpoint) and beside them the schedule's config
(``saved_config``), the optimizer's config and the metrics so far, into ``<run dir>/checkpoints``.
``resume=true`` (with the same ``hydra.run.dir``) continues from the latest one at the
optimizer's step count: every schedule of the current config (the ``scheduler`` and each
parameter group's own) is checked against the saved one (``check_resumes``, policy
``resume_policy``: ``strict``, ``config`` or ``checkpoint``) before any update.
``scheduler.cooldown_start=resume scheduler.cooldown_steps=N`` branches a cooldown of ``N``
steps off the resume step: the run then ends where that cooldown ends.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import hydra
import jax
import jax.numpy as jnp
import numpy as np
import optax
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from hydra_optax_schedules import (
    Schedule,
    ScheduleConfigError,
    branch_step,
    check_resumes,
    cooldown_end,
    optimizer_step,
    saved_configs,
)
from hydra_optax_schedules.optimizer import (
    applied_hyperparams,
    describe_param_groups,
    optimizer_schedules,
)
from hydra_optax_schedules.optimizer.check import DEFAULT_GROUP
from hydra_optax_schedules.schedule import batch_size_at

log = logging.getLogger(__name__)
# Hydra's logging shows INFO, and JAX logs "Unable to initialize backend 'tpu'" at INFO on every
# machine without a TPU: harmless, and noise in a training log.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
# orbax-checkpoint logs every save at INFO (through absl).
logging.getLogger("absl").setLevel(logging.WARNING)

#: The MLP's parameters: ``{"layers": [{"kernel", "bias"}, ...], "head": {"kernel", "bias"}}``,
#: so that their paths (``layers.0.kernel``, ``head.bias``) can be matched by parameter groups.
Params = dict[str, Any]


def make_data(rng: np.random.Generator, size: int, features: int) -> tuple[np.ndarray, ...]:
    """Inputs ``x ~ N(0, I)`` and targets ``y = sin(2 x W) v`` plus a little noise, in float32."""
    x = rng.standard_normal((size, features))
    w = rng.standard_normal((features, 16)) / np.sqrt(features)
    v = rng.standard_normal((16, 1)) / 4
    y = np.sin(2 * x @ w) @ v + 0.01 * rng.standard_normal((size, 1))
    return x.astype(np.float32), y.astype(np.float32)


def init_mlp(rng: np.random.Generator, sizes: list[int]) -> Params:
    """He-initialized weights and zero biases for layers of the given sizes (the last: head)."""
    layers = [
        {
            "kernel": jnp.asarray(
                rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in), dtype=jnp.float32
            ),
            "bias": jnp.asarray(np.zeros(n_out), dtype=jnp.float32),
        }
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    return {"layers": layers[:-1], "head": layers[-1]}


def mlp(params: Params, x: jax.Array) -> jax.Array:
    """The network's predictions for inputs ``x``."""
    for layer in params["layers"]:
        x = jax.nn.gelu(x @ layer["kernel"] + layer["bias"])
    return x @ params["head"]["kernel"] + params["head"]["bias"]


def mse(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error of the predictions for ``x`` against ``y``."""
    return jnp.mean((mlp(params, x) - y) ** 2)


def make_optimizer(
    cfg: DictConfig, schedules: dict[str, Schedule]
) -> optax.GradientTransformationExtraArgs:
    """The configured optimizer on the run's schedules (:func:`make_schedules`; on resume,
    those the resume check gives).

    ``cfg.optimizer`` is an option of the ``optimizer`` group; its own ``scheduler`` (the
    app's ``scheduler`` node) is replaced by ``schedules["scheduler"]``, and a parameter
    group's own schedule by ``schedules["optimizer.param_groups.<name>.scheduler"]``.
    """
    groups = {
        key.removeprefix(GROUPS).removesuffix(".scheduler"): {"scheduler": schedule}
        for key, schedule in schedules.items()
        if key.startswith(GROUPS)
    }
    tx, _ = instantiate(
        cfg.optimizer, scheduler=schedules["scheduler"], param_groups=groups, run_steps=cfg.steps
    )
    return tx


def metric_columns(applied: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(column, label, hyperparameter)`` of each logged value of ``applied_hyperparams``:
    ``lr`` and ``weight_decay`` for ``"default"``, ``lr[<label>]`` ... for the others, and
    ``plateau_scale`` (one value for all labels) when it is not constantly 1."""
    columns = []
    for label in sorted(applied, key=lambda label: label != DEFAULT_GROUP):
        for name in ("lr", "weight_decay"):
            columns.append((name if label == DEFAULT_GROUP else f"{name}[{label}]", label, name))
    return columns


def make_schedule(cfg: DictConfig, resume_step: int | None = None) -> Schedule:
    """The learning-rate schedule; the run length is known here, so it is passed in, and on
    resume the step the run resumed at (``scheduler.cooldown_start=resume`` branches the
    cooldown off it)."""
    return instantiate(cfg.scheduler, run_steps=cfg.steps, resume_step=resume_step)


#: Where the parameter groups' own schedules sit in the config.
GROUPS = "optimizer.param_groups."


def make_schedules(cfg: DictConfig, resume_step: int | None = None) -> dict[str, Schedule]:
    """Every schedule of the run by its full key: ``scheduler`` (:func:`make_schedule`) and
    ``optimizer.param_groups.<name>.scheduler`` for each group with a schedule of its own,
    each built with the run length and, on resume, the resume step."""
    schedules = {"scheduler": make_schedule(cfg, resume_step)}
    own = optimizer_schedules(cfg.optimizer, run_steps=cfg.steps, resume_step=resume_step)
    schedules |= {f"optimizer.{key}": s for key, s in own.items() if key != "scheduler"}
    return schedules


# --- Checkpoints: save, restore, and the resume check (docs/resume.md) ----------------------


def checkpoint_manager(run_dir: Path) -> Any:
    """An orbax ``CheckpointManager`` of ``<run_dir>/checkpoints``, saving synchronously (a
    checkpoint is on disk when ``save`` returns) and keeping the last two."""
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
    return ocp.CheckpointManager((run_dir / "checkpoints").absolute(), options=options)


def save_checkpoint(
    manager: Any,
    cfg: DictConfig,
    schedules: dict[str, Schedule],
    state: dict[str, Any],
    rows: list,
) -> None:
    """Save the parameters and optimizer state, with the config of every schedule of the run
    (``saved_configs``: a branched cooldown's ``cooldown_start`` is saved as the step it
    resolved to), the optimizer's config and the metrics so far, at the optimizer's step
    count."""
    import orbax.checkpoint as ocp

    step = optimizer_step(state["opt_state"])
    optimizer = OmegaConf.to_container(cfg.optimizer, resolve=True)
    manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            schedules=ocp.args.JsonSave(saved_configs(schedules)),
            optimizer=ocp.args.JsonSave(optimizer),
            metrics=ocp.args.JsonSave(rows),
        ),
    )
    log.info("saved a checkpoint at step %d", step)


def read_checkpoint(manager: Any) -> tuple[int, Any]:
    """The latest checkpoint's step and what was saved beside its state: ``schedules`` (the
    config of each, by key), ``optimizer`` (its config) and ``metrics`` (the rows so far)."""
    import orbax.checkpoint as ocp

    latest = manager.latest_step()
    if latest is None:
        raise FileNotFoundError(f"resume=true: no checkpoint in {manager.directory}")
    saved = manager.restore(
        latest,
        args=ocp.args.Composite(
            schedules=ocp.args.JsonRestore(),
            optimizer=ocp.args.JsonRestore(),
            metrics=ocp.args.JsonRestore(),
        ),
    )
    return latest, saved


def restore_checkpoint(
    manager: Any, cfg: DictConfig, params: Params
) -> tuple[dict[str, Schedule], dict[str, Any], list]:
    """The latest checkpoint: the schedules to continue with (the resume check applied), the
    state (parameters and optimizer state) and the metrics rows before it.

    The resume step is the restored optimizer's count. ``scheduler.cooldown_start=resume``
    (in any schedule of the run) is the step the run resumed at: ``branch_step`` of the saved
    schedules, which is the resume step, unless the run was already branched there (a run
    killed during its branched cooldown and resumed with the same command line continues
    that cooldown). Every schedule of the current config is then checked against the saved
    one with ``cfg.resume_policy``: a strict resume whose config moves a learning rate stops
    here, before any update.
    """
    import orbax.checkpoint as ocp

    latest, saved = read_checkpoint(manager)
    resumed_at = min(branch_step(config, latest) for config in saved.schedules.values())
    schedules = make_schedules(cfg, resumed_at)
    initial = {"params": params, "opt_state": make_optimizer(cfg, schedules).init(params)}
    restored = manager.restore(
        latest, args=ocp.args.Composite(state=ocp.args.StandardRestore(initial))
    )
    step = optimizer_step(restored.state["opt_state"])
    rows = [tuple(row) for row in saved.metrics]
    assert step == latest == len(rows), (step, latest, len(rows))
    checks = check_resumes(
        saved.schedules,
        schedules,
        step,
        policy=cfg.resume_policy,
        policy_field="resume_policy",
    )
    for key, check in checks.items():
        log.info("%s: %s", key, check.report(f"{key}."))
    optimizer = OmegaConf.to_container(cfg.optimizer, resolve=True)
    if without_schedules(optimizer) != without_schedules(saved.optimizer):
        log.warning(
            "the optimizer's config changed since the checkpoint (its schedules aside): %s -> %s",
            json.dumps(without_schedules(saved.optimizer)),
            json.dumps(without_schedules(optimizer)),
        )
    schedules = {key: check.schedule for key, check in checks.items() if key in schedules}
    return schedules, restored.state, rows


def without_schedules(optimizer: Any) -> Any:
    """The optimizer's config without its schedules (checked on their own, above)."""
    groups = {
        name: {key: value for key, value in group.items() if key != "scheduler"}
        for name, group in (optimizer.get("param_groups") or {}).items()
    }
    return {**optimizer, "scheduler": None, "param_groups": groups}


def run_length(cfg: DictConfig, schedule: Schedule) -> int:
    """The number of updates of the run: ``cfg.steps``, or, for a cooldown branched off the
    resume step (``scheduler.cooldown_start=resume``), the step that cooldown ends at."""
    if cfg.resume and cfg.scheduler.get("cooldown_start") == "resume":
        end = cooldown_end(schedule)
        if end is not None:
            log.info("the cooldown branched off the resume step ends at step %d", end)
            return end
    return cfg.steps


class Progress:
    """A tqdm bar showing loss and learning rate, or, without tqdm, a log line every 10%."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                log.info("tqdm is not installed: logging progress instead of a progress bar")
            else:
                self.bar = tqdm(total=total, desc="train", unit="step")

    def update(self, step: int, lr: float, loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.3e}", refresh=False)
            self.bar.update()
        elif (step + 1) % max(1, self.total // 10) == 0 or step + 1 == self.total:
            log.info("step %d/%d  lr %.3e  loss %.4f", step + 1, self.total, lr, loss)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(cfg: DictConfig, run_dir: Path) -> float:
    """Train for ``cfg.steps`` updates, write ``run_dir/metrics.csv``, return the final loss."""
    if cfg.get("wd_schedule") is not None:
        raise ScheduleConfigError(
            "wd_schedule is not used by this trainer: its weight decay is the optimizer's "
            "(optimizer.weight_decay, per group optimizer.param_groups.<name>.wd_mult; AdamW's "
            "follows the learning-rate schedule). For a weight decay on its own schedule, "
            "see docs/hyperparameters.md",
            field="wd_schedule",
        )
    # Data, initial weights and mini-batches are drawn on the host, from one seeded generator.
    rng = np.random.default_rng(cfg.seed)
    x, y = (jnp.asarray(array) for array in make_data(rng, cfg.data.size, cfg.data.features))
    params = init_mlp(rng, [cfg.data.features, *[cfg.model.hidden] * cfg.model.depth, 1])
    manager = checkpoint_manager(run_dir) if cfg.checkpoint_every or cfg.resume else None
    rows: list = []
    if cfg.resume:
        schedules, state, rows = restore_checkpoint(manager, cfg, params)
        params = state["params"]
    else:
        if cfg.scheduler.get("cooldown_start") == "resume":
            raise ScheduleConfigError(
                "scheduler.cooldown_start=resume branches the cooldown off the step the run "
                "resumes at: add resume=true (with the run's hydra.run.dir)",
                field="cooldown_start",
            )
        if manager is not None and manager.latest_step() is not None:
            # orbax would keep those and skip each save at a step it holds: refuse instead.
            raise RuntimeError(
                f"{run_dir / 'checkpoints'} holds checkpoints of an earlier run (the latest at "
                f"step {manager.latest_step()}): add resume=true to continue it, or give this "
                "run a new hydra.run.dir"
            )
        schedules = make_schedules(cfg)
    schedule = schedules["scheduler"]
    optimizer = make_optimizer(cfg, schedules)
    log.info("parameter groups:\n%s", describe_param_groups(cfg.optimizer, params))
    # A pattern that matches nothing stops here.
    opt_state = state["opt_state"] if cfg.resume else jax.jit(optimizer.init)(params)
    applied = applied_hyperparams(opt_state)
    columns = metric_columns(applied)
    plateau = cfg.optimizer.get("plateau") is not None
    if plateau:
        columns.append(("plateau_scale", next(iter(applied)), "plateau_scale"))
    start = len(rows)
    steps = run_length(cfg, schedule)
    if start > steps:
        raise ScheduleConfigError(
            f"steps={steps} ends this run before the step the checkpoint resumes at ({start}): "
            f"give steps >= {start} to continue it",
            field="steps",
        )
    if cfg.resume and start == steps:
        log.warning("the run already ended at step %d: nothing left to train", steps)
    # The mini-batches of every step, drawn up front: a resumed run takes those from its step.
    batches = rng.integers(0, cfg.data.size, size=(max(steps, cfg.steps), cfg.batch_size))
    units = cfg.scheduler.get("units")
    if units is not None and (units.batch_size is not None or units.ramp is not None):
        # The scheduler counts the run in its units with this batch size (or ramp): read it
        # from the same config, step by step (docs/units.md).
        sizes = [batch_size_at(cfg.scheduler, step) for step in range(max(steps, cfg.steps))]
        batches = [rng.integers(0, cfg.data.size, size=size) for size in sizes]

    @jax.jit
    def update(params, opt_state, batch):
        loss, grads = jax.value_and_grad(mse)(params, x[batch], y[batch])
        updates, new_state = optimizer.update(grads, opt_state, params, value=loss)
        # The optimizer state holds the hyperparameters this update applied, per group.
        applied = applied_hyperparams(new_state)
        logged = [applied[label][name] for _, label, name in columns]
        return optax.apply_updates(params, updates), new_state, (loss, logged)

    progress = Progress(steps, enabled=cfg.progress)
    for step in range(start, steps):
        params, opt_state, logged = update(params, opt_state, batches[step])
        loss, values = jax.device_get(logged)
        values = [value.item() for value in values]
        rows.append((step, loss.item(), *values))
        progress.update(step, values[0], loss.item())  # the first column's learning rate
        if cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0:
            state = {"params": params, "opt_state": opt_state}
            save_checkpoint(manager, cfg, schedules, state, rows)
    progress.close()

    with open(run_dir / "metrics.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "loss", *(column for column, *_ in columns)])
        writer.writerows(rows)
    final_loss = float(jax.jit(mse)(params, x, y))
    log.info("final loss over the whole data set: %.5f (metrics.csv in %s)", final_loss, run_dir)
    return final_loss


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    try:
        return train(cfg, Path(HydraConfig.get().runtime.output_dir))
    except ScheduleConfigError as error:  # a config the run must not start with: its message
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
