"""The Dockerfile and the pinned dependencies agree with the project's requirements."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.config.deployment import dockerfile
from tests.config.processes import BASE_DIR


def test_the_image_installs_from_the_lock_file():
    text = dockerfile()

    assert re.search(r"^COPY requirements\.lock ", text, re.MULTILINE)
    assert re.search(r"^RUN pip install .*-r requirements\.lock", text, re.MULTILINE)


def test_the_image_runs_as_an_unprivileged_user_and_serves_with_gunicorn():
    text = dockerfile()

    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert re.search(r'^CMD \["gunicorn", "config\.wsgi:application"', text, re.MULTILINE)


def test_the_image_uses_the_python_version_the_project_requires():
    requires = tomllib.loads((BASE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    match = re.search(r"^FROM python:(\d+\.\d+)", dockerfile(), re.MULTILINE)

    assert match is not None
    assert requires.startswith(f">={match.group(1)}")


def lock_pins(name: str = "requirements.lock") -> dict[str, str]:
    """Pins of a lock file, following its ``-r`` includes."""
    pins: dict[str, str] = {}
    for line in (BASE_DIR / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            included = lock_pins(line.removeprefix("-r ").strip())
            assert not included.keys() & pins.keys(), "a package is pinned twice"
            pins |= included
            continue
        name, separator, version = line.partition("==")
        assert separator and version, f"not pinned with ==: {line!r}"
        canonical = canonicalize_name(name)
        assert canonical not in pins, f"{name} is pinned twice"
        pins[canonical] = version
    return pins


def project() -> dict[str, Any]:
    return tomllib.loads((BASE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_runtime_dependency_is_pinned_in_the_lock_file():
    pins = lock_pins()
    requirements = [Requirement(spec) for spec in project()["dependencies"]]

    missing = [req.name for req in requirements if canonicalize_name(req.name) not in pins]
    assert missing == []


def test_every_pinned_runtime_dependency_satisfies_its_range():
    pins = lock_pins()
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        version = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (spec, version)


def test_every_development_dependency_is_pinned_in_the_dev_lock_file():
    pins = lock_pins("requirements-dev.lock")
    requirements = [Requirement(spec) for spec in project()["optional-dependencies"]["dev"]]

    missing = [req.name for req in requirements if canonicalize_name(req.name) not in pins]
    assert missing == []


def test_the_production_image_gets_no_development_tools():
    runtime = lock_pins()
    for spec in project()["optional-dependencies"]["dev"]:
        name = canonicalize_name(Requirement(spec).name)
        if name == "requests":
            continue  # also a runtime dependency, through django-anymail
        assert name not in runtime, f"{name} is a development tool but in requirements.lock"


def test_the_make_targets_install_the_dev_lock_which_includes_the_runtime_lock():
    makefile = (BASE_DIR / "Makefile").read_text(encoding="utf-8")
    assert "-r requirements-dev.lock" in makefile
    dev_lock = (BASE_DIR / "requirements-dev.lock").read_text(encoding="utf-8")
    assert "-r requirements.lock" in dev_lock.splitlines()


def test_the_packages_that_extras_pull_in_are_pinned_too():
    """``celery[redis]`` needs redis, ``psycopg[binary]`` needs psycopg-binary, and so on."""
    pins = lock_pins()
    missing = []
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        for extra in requirement.extras:
            environment = {key: str(value) for key, value in default_environment().items()}
            environment["extra"] = extra
            for dependency in metadata.requires(requirement.name) or []:
                pulled = Requirement(dependency)
                if pulled.marker is None or not pulled.marker.evaluate(environment):
                    continue
                if "extra" not in str(pulled.marker):
                    continue  # an unconditional dependency, pinned or not by pip freeze anyway
                if canonicalize_name(pulled.name) not in pins:
                    missing.append(f"{requirement.name}[{extra}] -> {pulled.name}")
    assert missing == []
