"""Stands in for ``pip`` in the docs test: ``pip install`` checks instead of installing.

The docs install only this package, from the clone (``pip install -e ".[sweep]"``) or by name
(``pip install "hydra-optax-schedules[sweep]"``). Installing for real would repoint the test
environment at a temp copy, so this checks what the install would give: the package is
installed, every extra named is one it provides, and every requirement of the package and of
those extras is installed at a version that satisfies it. Exits 1, naming what is missing.
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "hydra-optax-schedules"


def requested_extras(args: list[str]) -> set[str]:
    """The extras that ``pip install ARGS`` asks for; an error for anything but this package."""
    if args[:1] != ["install"]:
        raise SystemExit(f"pip {' '.join(args)}: the docs test stands in for pip install only")
    extras: set[str] = set()
    for spec in (arg for arg in args[1:] if arg != "-e"):
        name, _, rest = spec.partition("[")
        if name != "." and canonicalize_name(name) != PROJECT:
            raise SystemExit(f"{spec} is invalid: the docs install {PROJECT} only (. or by name)")
        extras |= {extra.strip() for extra in rest.rstrip("]").split(",") if extra.strip()}
    return extras


def unmet(extras: set[str]) -> list[str]:
    """What is missing for ``hydra-optax-schedules[EXTRAS]`` in this environment."""
    provided = set(metadata.metadata(PROJECT).get_all("Provides-Extra") or [])
    problems = [f"extra={extra!r} is invalid: {sorted(provided)}" for extra in extras - provided]
    requirements = [Requirement(line) for line in metadata.requires(PROJECT) or []]
    wanted, done = {""} | (extras & provided), set()
    while wanted:
        extra = wanted.pop()
        done.add(extra)
        for requirement in requirements:
            if requirement.marker is None:
                if extra:
                    continue
            elif not extra or not requirement.marker.evaluate({"extra": extra}):
                continue
            if canonicalize_name(requirement.name) == PROJECT:
                wanted |= requirement.extras - done
                continue
            try:
                version = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                problems.append(f"{requirement} is not installed")
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement} is not met: {requirement.name} {version}")
    return problems


if __name__ == "__main__":
    problems = unmet(requested_extras(sys.argv[1:]))
    print("\n".join(problems) or f"{PROJECT} and the extras asked for are installed")
    sys.exit(1 if problems else 0)
