"""The layout's rules, checked on the source (docs/architecture.md is the map):

- no import cycle between modules of `mmoc` or `mmoc_runtime`, counting imports made inside
  functions too (a lazy import still makes the two modules depend on each other; an import
  under `if TYPE_CHECKING:` names types only and does not count);
- every import goes from a higher stage to a lower one (`LAYERS`), never back;
- the runtime never imports the compiler.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"mmoc": ROOT / "compiler", "mmoc_runtime": ROOT / "runtime"}

# Lowest first. A module may import its own stage and any stage listed before it. The first
# matching prefix names a module's stage.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mmoc_runtime",),
    ("mmoc.version", "mmoc.records", "mmoc.source", "mmoc.gc_pause"),
    ("mmoc.ir",),
    ("mmoc.diagnostics",),
    ("mmoc.analysis", "mmoc.expr_text", "mmoc.identifiers", "mmoc.limits", "mmoc.suppressions",
     "mmoc.config"),
    ("mmoc.frontends",),
    ("mmoc.checks",),
    ("mmoc.codegen",),
    ("mmoc.modules", "mmoc.driver"),
    ("mmoc.builder",),
    ("mmoc.cli", "mmoc.demo", "mmoc.__main__"),
    ("mmoc",),  # the package itself: its public names load lazily from the stages above
)


def _module_name(package: str, path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, base in PACKAGES.items():
        for path in sorted(base.rglob("*.py")):
            found[_module_name(package, path, base)] = path
    return found


MODULES = _modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = importer.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        targets.append(candidate if candidate in MODULES else base)
    return targets


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`: they name types, and run nothing."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imports_of(name: str) -> set[str]:
    """The project modules `name` imports when it runs, anywhere in its body (imports under
    `if TYPE_CHECKING:` only name types, and are left out)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(name, path.name == "__init__.py", node))
    return {t for t in found if t in MODULES and t != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def stage(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{name} belongs to no stage: add it to LAYERS")


def test_every_module_has_a_stage() -> None:
    for name in MODULES:
        stage(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_stages(name: str) -> None:
    upward = sorted(t for t in GRAPH[name] if stage(t) > stage(name))
    assert not upward, f"{name} (stage {stage(name)}) imports a later stage: {upward}"


def test_runtime_never_imports_the_compiler() -> None:
    for name, targets in GRAPH.items():
        if name.startswith("mmoc_runtime"):
            assert not [t for t in targets if t.split(".")[0] == "mmoc"], name


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(GRAPH[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    saved = dict(GRAPH)
    try:
        GRAPH["mmoc.ir"] = GRAPH["mmoc.ir"] | {"mmoc.checks"}
        GRAPH["mmoc.checks"] = GRAPH["mmoc.checks"] | {"mmoc.ir"}
        assert any({"mmoc.checks", "mmoc.ir"} <= set(c) for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


# Stages that sit side by side: neither may import the other (the checks and the code generator
# work on the IR alone, whatever front end made it).
SEPARATE = (("mmoc.checks", "mmoc.frontends"), ("mmoc.codegen", "mmoc.frontends"),
            ("mmoc.codegen", "mmoc.checks"))


def _in(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "imported"), SEPARATE)
def test_side_by_side_stages_do_not_import_each_other(importer: str, imported: str) -> None:
    for name, targets in GRAPH.items():
        if _in(name, importer):
            assert not [t for t in targets if _in(t, imported)], name
