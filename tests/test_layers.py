"""The layering of DESIGN.md, checked on the source: imports point downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sqlfoundry"

# Each layer may import itself and the layers listed for it.
ALLOWED = {
    "core": set(),
    "sql": {"core"},
    "db": {"core", "sql"},
    "llm": {"core", "sql", "db"},
    "synth": {"core", "sql", "db", "llm"},
    "bench": {"core", "sql", "db", "llm"},
    "methods": {"core", "sql", "db", "llm", "synth", "bench"},
    "api": {"core", "sql", "db", "llm", "synth", "bench", "methods"},
    "serve": {"core", "sql", "db", "llm", "synth", "bench", "methods"},
    "cli": {"core", "sql", "db", "llm", "synth", "bench", "methods", "api", "serve"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n.startswith("sqlfoundry.")]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for module in _imports(path):
            target = _layer(module)
            if target and target != layer and target in ALLOWED and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(SRC)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_cli_command_module_imports_another() -> None:
    # What commands share (options, consoles, databases, scripting) and the bodies of exec and eval,
    # which both their typer command and the entry point's fast path run; main and entry
    # put the commands together and may import them all.
    shared = {f"sqlfoundry.cli.{name}" for name in
              ("common", "console", "databases", "scripting", "exec_command", "eval_command")}  # fmt: skip
    wrong = []
    for path in sorted((SRC / "cli").glob("*.py")):
        if path.stem in ("main", "entry", "__init__"):
            continue
        for module in _imports(path):
            if module.startswith("sqlfoundry.cli") and module not in shared:
                wrong.append(f"cli/{path.name} imports {module}")
    assert not wrong, "\n".join(wrong)
