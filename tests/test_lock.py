"""The lock in requirements/ covers every dependency, with hashes, and is what is installed.

scripts/install trusts these files alone (`--require-hashes`), so a dependency added to
pyproject.toml without `scripts/lock`, or an environment that drifted from the lock, must fail
here rather than on a fresh machine.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import REPO

LOCKS = REPO / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def pins(text: str) -> dict[str, tuple[str, int]]:
    """Each pinned name -> (version, number of hashes) in a pip-compile output."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in text.splitlines():
        pin = PIN.match(line)
        if pin:
            name = canonicalize_name(pin[1])
            found[name] = (pin[2], 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
        elif not line.startswith(" "):
            name = ""
    return found


def lock_problems(requirements: list[str], locked: dict[str, tuple[str, int]]) -> list[str]:
    """What is wrong with a lock for these requirements: missing, unhashed or out of range."""
    problems = []
    for spec in requirements:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{name} is not in the lock")
            continue
        version, hashes = locked[name]
        if not hashes:
            problems.append(f"{name} has no hash")
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{name}=={version} is not {requirement.specifier}")
    return problems


def project() -> dict[str, list[str]]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"base": data["dependencies"], "test": data["optional-dependencies"]["test"]}


def read(name: str) -> dict[str, tuple[str, int]]:
    return pins((LOCKS / f"{name}.txt").read_text(encoding="utf-8"))


def test_a_lock_problem_is_found() -> None:
    text = ("jinja2==3.1.6 \\\n    --hash=sha256:ab\n    # via x\n"
            "rich==13.0.0\n    # via y\n")
    assert lock_problems(["jinja2>=3.1", "rich>=14", "typer"], pins(text)) == [
        "rich has no hash", "rich==13.0.0 is not >=14", "typer is not in the lock"]


def test_every_dependency_is_locked_with_hashes() -> None:
    deps = project()
    assert lock_problems(deps["base"], read("base")) == []
    assert lock_problems(deps["base"] + deps["test"], read("test")) == []
    assert lock_problems(["pip", "setuptools>=77"], read("bootstrap")) == []


def test_every_locked_package_has_hashes_and_base_agrees_with_test() -> None:
    base, test = read("base"), read("test")
    assert [name for name, (_, hashes) in test.items() if not hashes] == []
    assert {name: base[name][0] for name in base} == {name: test[name][0] for name in base}


def test_the_environment_is_the_lock() -> None:
    installed = {canonicalize_name(dist.metadata["Name"]): dist.version
                 for dist in metadata.distributions()}
    drift = {name: (version, installed.get(name))
             for name, (version, _) in read("test").items() if installed.get(name) != version}
    assert drift == {}, "run scripts/install test"
