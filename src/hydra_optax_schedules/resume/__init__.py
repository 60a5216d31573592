"""Resuming a run: the saved schedules against the current ones, at the optimizer's step count.

:mod:`.check` (what to save, the policies, :func:`check_resume` and :func:`check_resumes`),
:mod:`.compare` (two schedules compared up to the resume step and after it, piece by piece),
:mod:`.branch` (a cooldown branched off the resume step: :func:`branch_step`,
:func:`cooldown_end`, :func:`branch_cooldown`). docs/resume.md.
"""

from hydra_optax_schedules.resume.branch import branch_cooldown, branch_step, cooldown_end
from hydra_optax_schedules.resume.check import (
    MAIN,
    POLICIES,
    ResumeCheck,
    ResumePolicy,
    check_resume,
    check_resumes,
    optimizer_step,
    saved_config,
    saved_configs,
)
from hydra_optax_schedules.resume.compare import SCANNED_STEPS, Change, compare_schedules

__all__ = [
    "MAIN",
    "POLICIES",
    "SCANNED_STEPS",
    "Change",
    "ResumeCheck",
    "ResumePolicy",
    "branch_cooldown",
    "branch_step",
    "check_resume",
    "check_resumes",
    "compare_schedules",
    "cooldown_end",
    "optimizer_step",
    "saved_config",
    "saved_configs",
]
