"""The dependency rule of docs/architecture.md, checked on every module's imports:
domain → launchers; space → collab; nothing imports domain from space or collab;
launchers import neither domain, space nor collab."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_spaces"
#: part → the parts it must never import
FORBIDDEN = {
    "space": {"domain", "launchers"},
    "collab": {"domain", "launchers", "space"},
    "launchers": {"domain", "space", "collab"},
    "domain": {"space", "collab"},
}


def imported_parts(path: Path, package: Path = PACKAGE) -> set[str]:
    """The top-level parts of jupyter_spaces that ``path`` imports (absolute or relative)."""
    part = path.relative_to(package).parts[0]
    depth = len(path.relative_to(package).parts) - 1  # package levels below jupyter_spaces
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names = [node.module or ""]
            elif node.level <= depth:  # within this part
                names = [f"jupyter_spaces.{part}"]
            else:  # from jupyter_spaces itself: ..x or ...x
                module = node.module or ""
                names = [f"jupyter_spaces.{module}"] if module else [f"jupyter_spaces.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            bits = name.split(".")
            if bits[0] == "jupyter_spaces" and len(bits) > 1:
                found.add(bits[1])
    return found


def test_no_part_imports_what_the_rule_forbids():
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = path.relative_to(PACKAGE).parts[0]
        if part not in FORBIDDEN:
            continue
        bad = imported_parts(path) & FORBIDDEN[part]
        if bad:
            broken.append(f"{path.relative_to(PACKAGE.parent)} imports {sorted(bad)}")
    assert broken == []


def test_the_check_sees_relative_and_absolute_imports(tmp_path):
    fake = tmp_path / "jupyter_spaces"
    (fake / "space" / "sub").mkdir(parents=True)
    module = fake / "space" / "sub" / "m.py"
    module.write_text("from ...domain import x\nfrom .. import authorizer\nimport jupyter_spaces.collab.room\n")
    assert imported_parts(module, fake) == {"domain", "space", "collab"}
