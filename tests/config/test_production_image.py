"""The production image serves its pages: static files are collected the way the Dockerfile
collects them, and the campaign page then renders in production mode with hashed URLs."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.config.processes import (
    BASE_DIR,
    manage,
    production_env,
    python,
    subprocess_env,
)


def dockerfile_run(containing: str) -> str:
    text = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("RUN") and containing in line]
    return line


def dockerfile_collectstatic() -> tuple[dict[str, str], list[str]]:
    """The environment and command of the Dockerfile's collectstatic step."""
    words = shlex.split(dockerfile_run("collectstatic").removeprefix("RUN "))
    env: dict[str, str] = {}
    while re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    command = words[: words.index("&&")] if "&&" in words else words
    return env, command


def collectstatic_as_the_image_does(tmp_path: Path) -> Path:
    """Runs the step with its own values only: production's real ones are not there at build."""
    build_env, command = dockerfile_collectstatic()
    static_root = tmp_path / "staticfiles"
    env = subprocess_env(tmp_path, DATABASE_URL=None, REDIS_URL=None) | build_env
    env["SBOR_STATIC_ROOT"] = str(static_root)
    assert command[:3] == ["python", "manage.py", "collectstatic"]
    result = manage(env, *command[2:])
    assert result.returncode == 0, result.stdout + result.stderr
    return static_root


def production_site(tmp_path: Path, static_root: Path) -> dict[str, str]:
    """A production environment on a fresh SQLite database holding the demo campaign."""
    env = production_env(
        tmp_path,
        REDIS_URL=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SBOR_STATIC_ROOT=str(static_root),
    )
    for step in (["migrate", "--noinput"], ["load_demo"]):
        done = manage(env, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    return env


def test_the_image_collects_static_files_with_the_production_settings(tmp_path):
    build_env, _ = dockerfile_collectstatic()

    assert build_env["SBOR_PRODUCTION"] == "1"
    # Throwaway values written out, not build arguments: the build has no secrets.
    for name in ("SECRET_KEY", "SBOR_LOOKUP_KEY", "SBOR_IP_HASH_KEY", "SBOR_ENCRYPTION_KEYS"):
        assert build_env[name], name
        assert "$" not in build_env[name], name
    assert "build-only" in build_env["SECRET_KEY"]


def test_collectstatic_as_in_the_image_writes_the_manifest(tmp_path):
    static_root = collectstatic_as_the_image_does(tmp_path)

    manifest = json.loads((static_root / "staticfiles.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"css/sbor\.[0-9a-f]{12}\.css", manifest["paths"]["css/sbor.css"])
    assert (static_root / manifest["paths"]["js/sbor.js"]).is_file()


_CAMPAIGN_PAGE = """
import json, re
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="example.org", HTTP_X_FORWARDED_PROTO="https")
page = client.get("/c/russia-behind-bars/")
html = page.content.decode()
static = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html)))
stylesheet = [url for url in static if url.endswith(".css")][0]
served = client.get(stylesheet)
print(json.dumps({
    "status": page.status_code,
    "static": static,
    "stylesheet_status": served.status_code,
}))
"""


def test_the_campaign_page_renders_in_production_with_hashed_static_urls(tmp_path):
    env = production_site(tmp_path, collectstatic_as_the_image_does(tmp_path))

    result = python(env, _CAMPAIGN_PAGE)

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    assert answer["static"], "the page links no static files"
    for url in answer["static"]:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", url), url
    assert answer["stylesheet_status"] == 200


def test_without_the_manifest_production_pages_fail_which_is_why_the_image_builds_it(tmp_path):
    env = production_site(tmp_path, tmp_path / "never-collected")

    result = python(env, _CAMPAIGN_PAGE)

    assert result.returncode != 0
    assert "Missing staticfiles manifest entry" in result.stderr


def test_the_build_values_are_not_baked_into_the_image():
    # Variables set on a RUN line vanish after the step; an ENV or ARG line would keep them.
    text = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    kept = [line for line in text.splitlines() if line.startswith(("ENV", "ARG"))]

    assert kept, "the Dockerfile sets no ENV at all?"
    assert not any("SECRET_KEY" in line or "build-only" in line for line in kept)
