"""The wings depend one way: cli -> pipeline -> release -> verify -> render -> translate -> source.

Walks the `ast` imports of every module of pubpipe (lazy imports inside
functions included) and fails on an import that runs upward, or on a cycle
between modules, as ../shared/ARCHITECTURE.md asks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "pubpipe"
LAYERS = {"cli": 6, "serve": 6, "progress": 6, "pipeline": 5, "release": 4, "verify": 3, "render": 2, "translate": 1,
          "source": 0, "diagnostics": -1, "bootstrap": -1, "__init__": -1}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Modules of pubpipe that `path` imports, anywhere in it."""
    found = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base == "pubpipe" or base.startswith("pubpipe."):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                              or (PACKAGE.parent / candidate.replace(".", "/")).is_dir() else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("pubpipe.")}
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else 99


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_sits_in_a_known_wing():
    unknown = [m for m in graph() if len(m.split(".")) > 1 and m.split(".")[1] not in LAYERS]
    assert not unknown, f"modules outside the wings of ARCHITECTURE.md: {unknown}"


def test_no_import_runs_upward():
    upward = [f"{module} imports {target}" for module, targets in graph().items() for target in targets
              if layer(target) > layer(module)]
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_no_import_cycle():
    edges = graph()
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if target not in edges:
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_check_itself_sees_upward_imports(tmp_path):
    """The walker is not vacuous: it finds the imports of a real module, lazy ones included."""
    assert "pubpipe.pipeline" in imports_of(PACKAGE / "cli.py")
    assert any(t.startswith("pubpipe.translate.") for t in imports_of(PACKAGE / "cli.py"))  # a lazy import
