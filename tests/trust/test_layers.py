"""Trust is on the ground layer: nothing under trust/ imports a feature app or the mailer.

import-linter (``make lint``) is the main guard; this is the early warning in the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trust

FORBIDDEN = ("campaigns", "petitions", "mailer")
TRUST_DIR = Path(trust.__file__).parent
MODULES = sorted(TRUST_DIR.rglob("*.py"))


def imported_names(path: Path) -> list[str]:
    """Every module name ``path`` imports, at any depth (also inside functions and
    ``if TYPE_CHECKING``). Relative imports stay within trust and are left out."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_every_trust_module_is_checked():
    assert TRUST_DIR / "services.py" in MODULES
    assert TRUST_DIR / "templatetags" / "trust_tags.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TRUST_DIR)))
def test_a_trust_module_imports_no_feature_app_and_not_the_mailer(path):
    above = [name for name in imported_names(path) if name.split(".")[0] in FORBIDDEN]
    assert above == [], f"{path.relative_to(TRUST_DIR.parent)} imports {above}"


def test_the_check_sees_an_import_hidden_in_a_function(tmp_path):
    module = tmp_path / "sneaky.py"
    module.write_text("def f():\n    from petitions.models import Signature\n")
    assert imported_names(module) == ["petitions.models"]
