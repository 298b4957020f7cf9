"""``pip install .`` ships every app: the wheel holds each package of the project, its
migrations, and the files the apps read at run time besides their code."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.apps import apps

BASE_DIR = Path(__file__).resolve().parents[2]
# Project folders that are not shipped: the tests and the benchmark harness.
NOT_SHIPPED = {"tests", "bench"}
# Never copied into the build tree: environments, local data and caches.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "var", "staticfiles", "build", "*.egg-info", "__pycache__", "*_cache"
)


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The file names inside the wheel built from a copy of the project (the build writes
    build/ and *.egg-info/ into the tree it builds, which must not be the working tree)."""
    tree = tmp_path_factory.mktemp("source") / "sbor"
    shutil.copytree(BASE_DIR, tree, ignore=NOT_COPIED)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(out)],
        cwd=tree, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = out.glob("sbor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def source_packages() -> list[Path]:
    """Every folder of the project that Python imports as a package."""
    return sorted(
        init.parent.relative_to(BASE_DIR)
        for init in BASE_DIR.glob("*/**/__init__.py")
        if init.relative_to(BASE_DIR).parts[0] not in NOT_SHIPPED | {".venv", "var", "build"}
    )


def project_apps() -> list[str]:
    return [
        config.name
        for config in apps.get_app_configs()
        # An app of ours lives in the checkout, outside any virtualenv in it (CI's .venv is
        # inside the checkout; a developer's may be a link to elsewhere).
        if Path(config.path).resolve().is_relative_to(BASE_DIR)
        and "site-packages" not in Path(config.path).parts
    ]


def test_every_installed_app_of_the_project_is_in_the_wheel(wheel_files):
    shipped = project_apps()

    assert {"campaigns", "petitions", "mailer", "trust"} <= set(shipped)
    for app in shipped:
        assert f"{app}/__init__.py" in wheel_files, app
        # Models are a module or, once grown, a package by topic (petitions); an app with
        # no models of its own (the workspace) ships none.
        models = {f"{app}/models.py", f"{app}/models/__init__.py"}
        in_source = {name for name in models if (BASE_DIR / name).exists()}
        assert in_source <= wheel_files, app


def test_every_package_of_the_project_is_in_the_wheel(wheel_files):
    packages = source_packages()

    assert Path("common") in packages and Path("config") in packages
    missing = [str(p) for p in packages if f"{p.as_posix()}/__init__.py" not in wheel_files]
    assert missing == []


def test_every_migration_is_in_the_wheel(wheel_files):
    migrations = sorted(BASE_DIR.glob("*/migrations/0*.py"))

    assert migrations, "no migrations found"
    for migration in migrations:
        assert migration.relative_to(BASE_DIR).as_posix() in wheel_files


def test_every_file_the_apps_read_at_run_time_is_in_the_wheel(wheel_files):
    # Anything in a package that is not Python code is read at run time: the demo campaign's
    # story, or a template or catalogue added to an app later.
    data = [
        path.relative_to(BASE_DIR).as_posix()
        for package in source_packages()
        for path in (BASE_DIR / package).iterdir()
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    ]

    assert "petitions/demo/about-us.txt" in data
    assert sorted(set(data) - wheel_files) == []


def test_the_gunicorn_settings_travel_with_the_code(wheel_files):
    assert "config/gunicorn.py" in wheel_files
    assert "common/logging.py" in wheel_files


def test_the_tests_and_the_benchmark_stay_out_of_the_wheel(wheel_files):
    top_level = {name.split("/", 1)[0] for name in wheel_files}

    assert not top_level & NOT_SHIPPED
