"""The package's shape, read from its source: imports run one way (no cycle, counting the imports
made inside functions too), no private name crosses modules, no module grows past 450 lines."""
from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

PACKAGE = REPO / "genforge"
MOST_LINES = 450


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every genforge import in a file, wherever it is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("genforge")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genforge"):
            names = [a.name for a in node.names]
            # `from genforge.core import latent` imports the module genforge.core.latent
            submodules = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in known]
            found += [(m, []) for m in submodules]
            rest = [n for n in names if f"{node.module}.{n}" not in known]
            if rest:
                found.append((node.module, rest))
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        edges[name] = {m for m, _ in imports(path, known) if m in known and m != name}
    return edges


def find_cycles(edges: dict[str, set[str]]) -> list[str]:
    """Every back edge of a depth-first walk, as the cycle it closes ("a -> b -> a")."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_import_graph_has_no_cycle():
    edges = graph()
    assert len(edges) > 30, "the walk found the package's modules"
    assert not find_cycles(edges), "import cycles:\n" + "\n".join(find_cycles(edges))


def test_the_cycle_check_is_not_vacuous():
    """A made-up back edge from a low module to the CLI, which imports everything, is a cycle."""
    edges = graph()
    low, top = "genforge.errors", "genforge.cli"
    assert any(low in targets for targets in edges.values())
    edges[low] = edges[low] | {top}
    assert any(c.startswith(low) or f"-> {low}" in c for c in find_cycles(edges))


def test_no_private_name_crosses_modules():
    known = modules()
    crossing = []
    for name, path in known.items():
        for module, names in imports(path, known):
            crossing += [f"{name} imports {module}.{n}" for n in names
                         if n.startswith("_") and not n.endswith("__") and module != name]  # __version__ is public
    assert not crossing, "\n".join(crossing)


def test_no_module_is_over_450_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MOST_LINES}
    assert not long, f"modules over {MOST_LINES} lines: {long}"
