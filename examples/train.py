"""A small but real training run whose learning rate comes from the ``scheduler`` group.

    python examples/train.py                       # cosine with warmup: see conf/train.yaml
    python examples/train.py scheduler=linear scheduler.lr=1e-2 steps=2000
    python examples/train.py -m scheduler=constant,cosine,linear,exponential \\
        scheduler.end_lr_factor=0.1
    python examples/train.py +scheduler@wd_schedule=cosine wd_schedule.lr=1e-3

An MLP fits a fixed synthetic regression problem with plain JAX and optax, on the CPU in
seconds. The pattern to copy is :func:`make_optimizer`: ``instantiate(cfg.scheduler,
run_steps=cfg.steps)`` returns an optax-compatible schedule, and ``optax.inject_hyperparams``
keeps the learning rate of each update in the optimizer state, where it can be logged.

The same group schedules any other hyperparameter: ``+scheduler@wd_schedule=cosine`` mounts a
schedule at ``wd_schedule``, and AdamW's weight decay follows it (its ``lr`` is the weight
decay's peak; the run length is passed in exactly as for the learning rate). Without it, the
weight decay is the constant ``optimizer.weight_decay``.

Each run writes ``metrics.csv`` into its Hydra run directory, one row per update:

- ``step``: the optimizer's step count when the update was made, ``0 .. steps - 1``. The
  schedule is evaluated at this count, so ``lr == schedule(step)``: the first update uses
  ``schedule(0)``, which is 0 during a warmup.
- ``lr``: the learning rate that update applied, read back from the optimizer state.
- ``loss``: the mini-batch loss of the parameters the update started from.
- ``weight_decay``: the weight decay that update applied, read back likewise:
  ``wd_schedule(step)``, or the constant ``optimizer.weight_decay`` (as float32) without a
  schedule. The column is always there, so that every run's file has the same columns.

The task returns the final loss over the whole data set, for a sweeper to minimize.
"""

from __future__ import annotations

import csv
import itertools
import logging
from pathlib import Path

import hydra
import jax
import jax.numpy as jnp
import numpy as np
import optax
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from hydra_optax_schedules.schedule import batch_size_at

log = logging.getLogger(__name__)
# Hydra's logging shows INFO, and JAX logs "Unable to initialize backend 'tpu'" at INFO on every
# machine without a TPU: harmless, and noise in a training log.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)

Params = list[tuple[jax.Array, jax.Array]]


def make_data(rng: np.random.Generator, size: int, features: int) -> tuple[np.ndarray, ...]:
    """Inputs ``x ~ N(0, I)`` and targets ``y = sin(2 x W) v`` plus a little noise, in float32."""
    x = rng.standard_normal((size, features))
    w = rng.standard_normal((features, 16)) / np.sqrt(features)
    v = rng.standard_normal((16, 1)) / 4
    y = np.sin(2 * x @ w) @ v + 0.01 * rng.standard_normal((size, 1))
    return x.astype(np.float32), y.astype(np.float32)


def init_mlp(rng: np.random.Generator, sizes: list[int]) -> Params:
    """He-initialized weights and zero biases for layers of the given sizes."""
    return [
        (
            jnp.asarray(rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in), dtype=jnp.float32),
            jnp.asarray(np.zeros(n_out), dtype=jnp.float32),
        )
        for n_in, n_out in itertools.pairwise(sizes)
    ]


def mlp(params: Params, x: jax.Array) -> jax.Array:
    """The network's predictions for inputs ``x``."""
    for w, b in params[:-1]:
        x = jax.nn.gelu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def mse(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error of the predictions for ``x`` against ``y``."""
    return jnp.mean((mlp(params, x) - y) ** 2)


def make_optimizer(cfg: DictConfig) -> optax.GradientTransformation:
    """AdamW on the configured schedules; the run length is known here, so it is passed in.

    The weight decay follows ``cfg.wd_schedule`` if the config has one, else it is the
    constant ``cfg.optimizer.weight_decay``.
    """
    schedule = instantiate(cfg.scheduler, run_steps=cfg.steps)
    weight_decay = cfg.optimizer.weight_decay
    if cfg.get("wd_schedule") is not None:
        weight_decay = instantiate(cfg.wd_schedule, run_steps=cfg.steps)
    return optax.inject_hyperparams(optax.adamw)(learning_rate=schedule, weight_decay=weight_decay)


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
    units = cfg.scheduler.get("units")
    if units is not None and (units.batch_size is not None or units.ramp is not None):
        # The scheduler counts the run in its units with this batch size (or ramp): read it
        # from the same config, step by step (docs/units.md).
        sizes = [batch_size_at(cfg.scheduler, step) for step in range(cfg.steps)]
        batches = [rng.integers(0, cfg.data.size, size=size) for size in sizes]
    optimizer = make_optimizer(cfg)
    opt_state = jax.jit(optimizer.init)(params)

    @jax.jit
    def update(params, opt_state, batch):
        loss, grads = jax.value_and_grad(mse)(params, x[batch], y[batch])
        step = opt_state.count  # the count the schedule is evaluated at, in this update
        updates, opt_state = optimizer.update(grads, opt_state, params)
        # inject_hyperparams stores the hyperparameters this update used in the new state.
        lr = opt_state.hyperparams["learning_rate"]
        weight_decay = opt_state.hyperparams["weight_decay"]
        return optax.apply_updates(params, updates), opt_state, (step, lr, loss, weight_decay)

    rows = []
    progress = Progress(cfg.steps, enabled=cfg.progress)
    for batch in batches:
        params, opt_state, logged = update(params, opt_state, batch)
        step, lr, loss, weight_decay = (value.item() for value in jax.device_get(logged))
        rows.append((step, lr, loss, weight_decay))
        progress.update(step, lr, loss)
    progress.close()

    with open(run_dir / "metrics.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "lr", "loss", "weight_decay"])
        writer.writerows(rows)
    final_loss = float(jax.jit(mse)(params, x, y))
    log.info("final loss over the whole data set: %.5f (metrics.csv in %s)", final_loss, run_dir)
    return final_loss


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    return train(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
