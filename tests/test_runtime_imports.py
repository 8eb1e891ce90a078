"""What the package imports, its installation provides: every third-party module a module
of ``jupyter_spaces/`` imports comes from a runtime dependency (or one of theirs), or from
an extra other than ``test``. A helper that imports a test-only library (the collab test
client used aiohttp) belongs under ``tests/``, not in the wheel."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_spaces"
DIST_NAME = "jupyter-spaces"
TEST_EXTRAS = {"test"}


def _name(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _closure(requirements: list[Requirement]) -> set[str]:
    """The distributions ``requirements`` install, with everything they require in turn."""
    seen: set[str] = set()
    todo = [(r, "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = _name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not for this platform/python: nothing imports it here
        for spec in dist.requires or []:
            sub = Requirement(spec)
            for e in ["", *req.extras]:
                todo.append((sub, e))
    return {k.split("[")[0] for k in seen}


def provided_modules() -> dict[str, set[str]]:
    """Top-level module name → the installed distributions that provide it."""
    return {m: {_name(d) for d in dists} for m, dists in metadata.packages_distributions().items()}


def _optional(tree: ast.AST) -> set[ast.AST]:
    """Import statements in the body of a ``try`` that handles ImportError (a fallback)."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            or isinstance(h.type, ast.Tuple) and any(getattr(e, "id", "") in ("ImportError", "ModuleNotFoundError") for e in h.type.elts)
            for h in node.handlers
        ):
            out.update(n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return out


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the absolute imports of ``path`` (not those with a fallback)."""
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    optional = _optional(tree)
    for node in ast.walk(tree):
        if node in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_package_imports_only_what_its_installation_provides():
    dist = metadata.distribution(DIST_NAME)
    requires = [Requirement(s) for s in dist.requires or []]
    runtime = [r for r in requires if r.marker is None or r.marker.evaluate({"extra": ""})]
    extras = [
        r
        for r in requires
        if r.marker is not None
        and any(r.marker.evaluate({"extra": e}) for e in (dist.metadata.get_all("Provides-Extra") or []) if e not in TEST_EXTRAS)
    ]
    allowed = _closure(runtime + extras) | {_name(DIST_NAME)}
    providers = provided_modules()
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module in imported_modules(path):
            if module in sys.stdlib_module_names or module == "jupyter_spaces":
                continue
            if not providers.get(module, set()) & allowed:
                stray.append(f"{path.relative_to(PACKAGE.parent)}: {module} ({sorted(providers.get(module, []))})")
    assert stray == []


def test_the_check_sees_a_test_only_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom aiohttp import web\nfrom .x import y\n"
        "try:\n    import seccomp\nexcept ImportError:\n    seccomp = None\n"
    )
    assert imported_modules(module) == {"os", "aiohttp"}
    assert "aiohttp" in _closure([Requirement("jupyter-spaces[test]")])
    assert "aiohttp" not in _closure([Requirement("jupyter-spaces")])
