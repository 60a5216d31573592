"""``build_optimizer(config) -> (optax transformation, schedule)``: xlstm-jax's entry point.

The transformation, in order::

    clip_by_global_norm(grad_clip_norm)   on the trained parameters only
    clip(grad_clip_value)                 on the trained parameters only
    partition by label (:mod:`.groups`; optax.partition's state, masks by function):
        frozen groups: set_to_zero (no state)
        every other label: inject_hyperparams(core)(learning_rate, weight_decay)
    reduce_on_plateau(plateau)            scales every update, fed value=loss

where ``core`` is, for a label with schedule ``s``, ``lr_factor = lr_mult * layer factor``,
``wd = weight_decay * wd_mult`` and the optimizer's moment estimate ``u`` of its input:

- ``adamw``, ``nadamw``, ``adamaxw`` (decoupled): ``-(s(t) * lr_factor) * u - (s(t) * wd) * p``;
- ``lamb``: ``-(s(t) * lr_factor) * trust_ratio(u + wd * p)``;
- ``adam``, ``sgd``, ``nadam``, ``adamax``, ``radam`` (L2): ``u`` of ``g + wd * p``, times
  ``-(s(t) * lr_factor)``.

So ``lr_mult`` (and the layer factor) scale the gradient step only: decoupled decay follows the
schedule, and ``wd_mult`` alone scales it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax
import optax.contrib
from omegaconf import DictConfig, OmegaConf

from hydra_optax_schedules.optimizer.check import Checked, checked
from hydra_optax_schedules.optimizer.config import DECOUPLED
from hydra_optax_schedules.optimizer.groups import Label, assign, decay_mask, trained_mask
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler, hydra_key

__all__ = ["build_optimizer", "build_optimizer_from_fields", "optimizer_schedules"]

#: The name of the hyperparameter that holds the decoupled decay applied at a step (the
#: weights shrink by this fraction of themselves, before the plateau's scale); an L2 or lamb
#: label holds ``weight_decay``, a coefficient.
DECOUPLED_DECAY = "decoupled_decay"
#: Parameter-tree structures whose labels one optimizer remembers.
_KNOWN_STRUCTURES = 8


def build_optimizer(
    config: Any, *, run_steps: Any = None, resume_step: Any = None
) -> tuple[optax.GradientTransformationExtraArgs, Schedule]:
    """Build the optimizer and its learning-rate schedule from config.

    Args:
        config: An ``OptimizerConfig``, a mapping of its fields, or the ``optimizer`` node of
            a Hydra config (its fields are then named by their full key).
        run_steps: The run length a trainer counts at runtime, given to every schedule built
            here from config (the base one and each group's own) as
            ``build_lr_scheduler(..., run_steps=)`` takes it: it fills an unset
            ``decay_steps`` and must equal a set one. A schedule given already built (a
            ``Schedule``) is used as it is.
        resume_step: The step a resumed run continues from, given to every schedule built
            here as ``run_steps`` is: the ``cooldown_start`` of a schedule that sets it to
            ``"resume"`` (docs/resume.md), no effect on the others.

    Returns:
        ``(tx, schedule)``: an optax transformation (its ``update`` takes ``params``, and
        ``value=loss`` when a plateau is set) and the optimizer's schedule.

    Raises:
        ScheduleConfigError: A field is unknown, missing or invalid (at once); a pattern that
            matches no parameter when ``tx.init(params)`` is called.
    """
    return _build(config, (run_steps, resume_step), prefix="")


def build_optimizer_from_fields(
    *, run_steps: Any = None, resume_step: Any = None, **fields: Any
) -> tuple[optax.GradientTransformationExtraArgs, Schedule]:
    """``build_optimizer`` from ``OptimizerConfig``'s fields as keywords: the ``_target_`` of
    the ``optimizer`` group's options (``instantiate(cfg.optimizer, run_steps=n)``), whose
    errors name the fields by Hydra's full key (``optimizer.beta1``)."""
    return _build(fields, (run_steps, resume_step), prefix=hydra_key(sys._getframe(1)))


def optimizer_schedules(
    config: Any, *, run_steps: Any = None, resume_step: Any = None
) -> dict[str, Schedule]:
    """Every schedule ``build_optimizer(config, run_steps=, resume_step=)`` builds, by where it
    sits in the optimizer's config: ``"scheduler"`` (the optimizer's), and
    ``"param_groups.<name>.scheduler"`` for each trained group with a schedule of its own
    (the others follow ``"scheduler"``). What a trainer saves beside a checkpoint and checks
    on resume (``saved_configs``, ``check_resumes``: docs/resume.md)."""
    return _schedules(checked(config, prefix=""), (run_steps, resume_step))


def _build(
    config: Any, runtime: tuple[Any, Any], prefix: str
) -> tuple[optax.GradientTransformationExtraArgs, Schedule]:
    settings = checked(config, prefix=prefix)
    schedule, by_group = _built(settings, runtime)
    return _transformation(settings, schedule, by_group), schedule


def _schedules(settings: Checked, runtime: tuple[Any, Any]) -> dict[str, Schedule]:
    """``{"scheduler": the optimizer's, "param_groups.<name>.scheduler": a group's own}``."""
    schedule, by_group = _built(settings, runtime)
    own = {f"param_groups.{name}.scheduler": group for name, group in by_group.items()}
    return {"scheduler": schedule, **own}


def _built(settings: Checked, runtime: tuple[Any, Any]) -> tuple[Schedule, dict[str, Schedule]]:
    """The optimizer's schedule, and each trained group's own by the group's name."""
    schedule = _schedule(settings.scheduler, ("scheduler",), *runtime)
    by_group = {
        group.name: _schedule(group.scheduler, ("param_groups", group.name, "scheduler"), *runtime)
        for group in settings.groups
        if group.scheduler is not None and not group.freeze
    }
    return schedule, by_group


def _schedule(config: Any, keys: tuple[str, ...], run_steps: Any, resume_step: Any) -> Schedule:
    """A schedule given built, as it is (its caller gave it its run length: a trainer that
    resumes passes the schedule the resume check gave), else built by ``build_lr_scheduler``
    with ``run_steps`` and ``resume_step``; a plain mapping as a node at ``keys``, so that its
    errors name the field where it sits (``param_groups.head.scheduler.lr``), as a Hydra
    node's do."""
    if isinstance(config, Schedule):
        return config
    if isinstance(config, Mapping) and not isinstance(config, DictConfig):
        nested: Any = dict(config)
        for key in reversed(keys):
            nested = {key: nested}
        try:
            node: Any = OmegaConf.create(nested)
        except (ValueError, TypeError):  # a value OmegaConf does not hold (a NumPy scalar)
            return build_lr_scheduler(config, run_steps=run_steps, resume_step=resume_step)
        for key in keys:
            node = node[key]
        return build_lr_scheduler(node, run_steps=run_steps, resume_step=resume_step)
    return build_lr_scheduler(config, run_steps=run_steps, resume_step=resume_step)


def _transformation(
    settings: Checked, schedule: Schedule, schedules: dict[str, Schedule]
) -> optax.GradientTransformationExtraArgs:
    # The labels of a tree depend on its structure only: computed once per structure (the
    # regexes run at init and at the first trace, not at every eager update).
    known: dict[Any, tuple[Any, dict[str, optax.GradientTransformation]]] = {}

    def labelled(tree: Any) -> tuple[Any, dict[str, optax.GradientTransformation]]:
        structure = jax.tree.structure(tree)
        if structure not in known:
            labels, by_name = assign(settings, tree)
            transforms = {
                name: optax.set_to_zero()
                if label.frozen
                else _label_transformation(settings, label, schedules.get(label.group, schedule))
                for name, label in by_name.items()
            }
            if len(known) >= _KNOWN_STRUCTURES:
                known.clear()
            known[structure] = (labels, transforms)
        return known[structure]

    def masked(labels: Any, name: str, tx: optax.GradientTransformation) -> Any:
        # optax.partition's own masks are trees shaped like the parameters, which optax.masked
        # calls if they are callable (an equinox module is): a mask function avoids that.
        return optax.masked(tx, lambda _: jax.tree.map(lambda label: label == name, labels))

    def init(params: Any) -> optax.PartitionState:
        labels, transforms = labelled(params)
        return optax.PartitionState(
            {name: masked(labels, name, tx).init(params) for name, tx in transforms.items()}
        )

    def update(updates: Any, state: Any, params: Any = None, **extra: Any) -> Any:
        labels, transforms = labelled(updates)
        inner = {}
        for name, tx in transforms.items():
            updates, inner[name] = masked(labels, name, tx).update(
                updates, state.inner_states[name], params, **extra
            )
        return updates, optax.PartitionState(inner)

    trained: Callable[[Any], Any] = lambda tree: trained_mask(settings, tree)  # noqa: E731
    parts: list[Any] = []
    if settings.grad_clip_norm is not None:
        parts.append(optax.masked(optax.clip_by_global_norm(settings.grad_clip_norm), trained))
    if settings.grad_clip_value is not None:
        parts.append(optax.masked(optax.clip(settings.grad_clip_value), trained))
    parts.append(optax.GradientTransformationExtraArgs(init, update))
    if settings.plateau is not None:
        p = settings.plateau
        parts.append(
            optax.contrib.reduce_on_plateau(
                factor=p.factor,
                patience=p.patience,
                rtol=p.rtol,
                atol=p.atol,
                cooldown=p.cooldown,
                accumulation_size=p.accumulation_size,
                min_scale=p.min_scale,
            )
        )
    return optax.chain(*parts)


def _label_transformation(
    settings: Checked, label: Label, schedule: Schedule
) -> optax.GradientTransformationExtraArgs:
    """One trained label: its core, with its scheduled values kept in its state."""
    wd = settings.weight_decay * label.wd_mult
    factor = label.lr_factor
    mask = (lambda tree: decay_mask(settings, tree)) if wd > 0 else None

    def learning_rate(count: Any) -> Any:
        return schedule(count) * factor

    if settings.name in DECOUPLED:

        def decoupled_decay(count: Any) -> Any:
            return schedule(count) * wd

        def decoupled(learning_rate: Any, decoupled_decay: Any) -> Any:
            steps = [_moments(settings), _scale(-learning_rate)]
            if mask is not None:
                steps.append(_add_decay(-decoupled_decay, mask))
            return optax.chain(*steps)

        return optax.inject_hyperparams(decoupled, hyperparam_dtype=jnp.float32)(
            learning_rate, decoupled_decay
        )

    def coupled(learning_rate: Any, weight_decay: Any) -> Any:
        decay = [_add_decay(weight_decay, mask)] if mask is not None else []
        if settings.name == "lamb":
            steps = [_moments(settings), *decay, optax.scale_by_trust_ratio()]
        else:
            steps = [*decay, _moments(settings)]
        return optax.chain(*steps, _scale(-learning_rate))

    return optax.inject_hyperparams(coupled, hyperparam_dtype=jnp.float32)(learning_rate, wd)


# The scheduled values are kept in float32 (what is logged is what was computed); each is
# cast to a parameter's dtype where it multiplies it, as optax's scale_by_learning_rate does,
# so that bfloat16 parameters get bfloat16 updates.


def _scale(factor: Any) -> optax.GradientTransformation:
    """``u -> factor * u``, ``factor`` in each update's dtype."""

    def scale(updates: Any, params: Any) -> Any:
        del params
        return jax.tree.map(lambda u: jnp.asarray(factor, u.dtype) * u, updates)

    return optax.stateless(scale)


def _add_decay(rate: Any, mask: Callable[[Any], Any]) -> optax.GradientTransformation:
    """``u -> u + rate * p`` on the parameters of ``mask``, ``rate`` in each one's dtype."""

    def add(updates: Any, params: Any) -> Any:
        if params is None:
            raise ValueError(
                "the weight decay needs the parameters: tx.update(grads, state, params)"
            )
        return jax.tree.map(lambda u, p: u + jnp.asarray(rate, u.dtype) * p, updates, params)

    return optax.masked(optax.stateless(add), mask)


def _moments(settings: Checked) -> optax.GradientTransformation:
    """The optimizer's own scaling of its input, without the learning rate."""
    b1, b2, eps = settings.beta1, settings.beta2, settings.eps
    name = settings.name.removesuffix("w") if settings.name != "lamb" else "adam"
    if name == "sgd":
        return optax.trace(decay=b1, nesterov=settings.nesterov)
    if name == "adamax":
        return optax.scale_by_adamax(b1=b1, b2=b2, eps=eps)
    if name == "radam":
        return optax.scale_by_radam(b1=b1, b2=b2, eps=eps)
    return optax.scale_by_adam(b1=b1, b2=b2, eps=eps, nesterov=name == "nadam")
