"""The layout of the code keeps its architecture: views never import each other, and no
comment sends a reader outside the repository."""

import ast
from pathlib import Path

import pytest

import hyperchat

PACKAGE = Path(hyperchat.__file__).parent
VIEWS = sorted(p for p in (PACKAGE / "views").glob("*.py") if p.name != "__init__.py")


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # `from hyperchat.views import messages` names a module too.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_a_view_module_imports_no_other_view_module(view):
    views = {f"hyperchat.views.{p.stem}" for p in VIEWS} | {"hyperchat.views"}
    crossing = {m for m in imported_modules(view) if m in views}
    assert not crossing, f"{view.name} imports {sorted(crossing)}: share through web/ or the domain"


def test_the_import_walk_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text("def f():\n    from hyperchat.views.messages import stream\n")
    assert "hyperchat.views.messages" in imported_modules(module)


def test_every_blueprint_is_registered_in_create_app():
    registered = {view.bp for view in hyperchat.BLUEPRINTS}
    defined = {__import__(f"hyperchat.views.{p.stem}", fromlist=["bp"]).bp
               for p in VIEWS}
    assert defined == registered


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.stem)
def test_no_comment_points_outside_the_repository(path):
    text = path.read_text()
    for outside in ("../shared", "shared notes", "the seed's", "seeds/"):
        assert outside not in text, f"{path.relative_to(PACKAGE)} mentions {outside!r}"


def test_module_names_are_unique():
    stems = [p.stem for p in PACKAGE.rglob("*.py") if p.stem != "__init__"
             and p.parent.name != "views"]
    assert len(stems) == len(set(stems)), sorted(s for s in stems if stems.count(s) > 1)
