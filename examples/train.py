"""A small but real training run whose optimizer comes from the ``optimizer`` group.

    python examples/train.py                       # AdamW, cosine with warmup: conf/train.yaml
    python examples/train.py scheduler=linear scheduler.lr=1e-2 steps=2000
    python examples/train.py -m scheduler=constant,cosine,linear,exponential \\
        scheduler.end_lr_factor=0.1
    python examples/train.py optimizer=lamb optimizer.weight_decay=0.01
    python examples/train.py '+optimizer.param_groups={head:{match:[^head],lr_mult:10}}'

An MLP fits a fixed synthetic regression problem with plain JAX and optax, on the CPU in
seconds. The pattern to copy is :func:`make_optimizer`: ``instantiate(cfg.optimizer,
run_steps=cfg.steps)`` returns the optax transformation of the configured optimizer, its
parameter groups and their schedules, each schedule built with the run length the trainer
counts (``run_steps``: it fills an unset ``decay_steps``; a different one is an error naming
both).

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
"""

from __future__ import annotations

import csv
import itertools
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
from omegaconf import DictConfig

from hydra_optax_schedules import ScheduleConfigError
from hydra_optax_schedules.optimizer import applied_hyperparams, describe_param_groups
from hydra_optax_schedules.optimizer.check import DEFAULT_GROUP

log = logging.getLogger(__name__)
# Hydra's logging shows INFO, and JAX logs "Unable to initialize backend 'tpu'" at INFO on every
# machine without a TPU: harmless, and noise in a training log.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)

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


def make_optimizer(cfg: DictConfig) -> optax.GradientTransformationExtraArgs:
    """The configured optimizer on the configured schedule, given the run length here.

    ``cfg.optimizer`` is an option of the ``optimizer`` group: its ``scheduler`` is the app's
    ``scheduler`` node, built with the run length (``run_steps=cfg.steps``).
    """
    if cfg.get("wd_schedule") is not None:
        raise ScheduleConfigError(
            "wd_schedule is not used by this trainer: its weight decay is the optimizer's "
            "(optimizer.weight_decay, per group optimizer.param_groups.<name>.wd_mult; AdamW's "
            "follows the learning-rate schedule). For a weight decay on its own schedule, "
            "see docs/hyperparameters.md",
            field="wd_schedule",
        )
    tx, _ = instantiate(cfg.optimizer, run_steps=cfg.steps)
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
    # Data, initial weights and mini-batches are drawn on the host, from one seeded generator.
    rng = np.random.default_rng(cfg.seed)
    x, y = (jnp.asarray(array) for array in make_data(rng, cfg.data.size, cfg.data.features))
    params = init_mlp(rng, [cfg.data.features, *[cfg.model.hidden] * cfg.model.depth, 1])
    batches = rng.integers(0, cfg.data.size, size=(cfg.steps, cfg.batch_size))
    optimizer = make_optimizer(cfg)
    log.info("parameter groups:\n%s", describe_param_groups(cfg.optimizer, params))
    opt_state = jax.jit(optimizer.init)(params)  # a pattern that matches nothing stops here
    applied = applied_hyperparams(opt_state)
    columns = metric_columns(applied)
    plateau = cfg.optimizer.get("plateau") is not None
    if plateau:
        columns.append(("plateau_scale", next(iter(applied)), "plateau_scale"))

    @jax.jit
    def update(params, opt_state, batch):
        loss, grads = jax.value_and_grad(mse)(params, x[batch], y[batch])
        updates, new_state = optimizer.update(grads, opt_state, params, value=loss)
        # The optimizer state holds the hyperparameters this update applied, per group.
        applied = applied_hyperparams(new_state)
        logged = [applied[label][name] for _, label, name in columns]
        return optax.apply_updates(params, updates), new_state, (loss, logged)

    rows = []
    progress = Progress(cfg.steps, enabled=cfg.progress)
    for step, batch in enumerate(batches):
        params, opt_state, logged = update(params, opt_state, batch)
        loss, values = jax.device_get(logged)
        values = [value.item() for value in values]
        rows.append((step, loss.item(), *values))
        progress.update(step, values[0], loss.item())  # the first column's learning rate
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
    return train(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
