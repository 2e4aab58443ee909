"""The layering docs/ARCHITECTURE.md states, checked against every import of the package."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amuse_cli"


def stated_layers() -> dict[str, int]:
    """{top-level module or package name: layer} from the doc's table."""
    layers = {}
    for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|([^|]+)\|", line)
        if m:
            for name in re.findall(r"`([\w]+)`", m.group(2)):
                layers[name] = int(m.group(1))
    return layers


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules) -> set[str]:
    """Every amuse_cli module `path` imports, at module level or inside functions
    (`from pkg import module` counts as the module, `from pkg import name` as pkg)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("amuse_cli"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("amuse_cli"))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in imports(p, modules) if i in modules and i != m} for m, p in modules.items()}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_stated_layer():
    layers = stated_layers()
    missing = sorted({top(m) for m in graph()} - set(layers))
    assert not missing, f"add these to docs/ARCHITECTURE.md's layer table: {missing}"


def test_no_import_runs_up_or_sideways():
    layers = stated_layers()
    wrong = []
    for module, targets in graph().items():
        for target in targets:
            a, b = top(module), top(target)
            if target == "amuse_cli" or a == b:
                continue   # the package's own __init__ (version), or inside one package
            sideways_ok = not (PACKAGE / a).is_dir() and not (PACKAGE / b).is_dir()  # single modules of a layer
            if layers[b] > layers[a] or (layers[b] == layers[a] and not sideways_ok):
                wrong.append(f"{module} (layer {layers[a]}) imports {target} (layer {layers[b]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circles():
    g = graph()
    state: dict[str, int] = {}   # 1 on the current path, 2 done
    circles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(g[m]):
            if state.get(t) == 1:
                circles.append(" -> ".join(path[path.index(t):] + [t]))
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not circles, "\n".join(circles)


@pytest.mark.parametrize("package", ["engine", "features", "data", "models", "synth", "report"])
def test_nothing_below_commands_starts_the_cli(package):
    for path in (PACKAGE / package).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"-m", "amuse_cli"' not in text and "amuse_cli.cli" not in text, path
