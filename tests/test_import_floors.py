"""The import floors (ground floor, services, composition root): no import runs up or across, no circles."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GROUND = "ground floor"
TOP = "composition root"

# Where each module stands, written once. A package entry covers the package and everything under it; a module entry
# covers that module alone; the longest matching entry wins. A module no entry covers fails the check, so a new
# package or a new file in `cache/` or `edge_config/` has to be given a floor here.
PACKAGES: dict[str, str] = {
    "backends.common": GROUND,  # service app factory, problems, auth, outbox and event vocabulary, money, settings
    "backends.catalog": "catalog",
    "backends.pricing": "pricing",
    "backends.cms": "cms",
    "backends.checkout": "checkout",
    "cache.invalidation": "invalidator",
    "storefront": "origin",
    "cms_client": "origin",  # the origin's own helpers
    "image_pipeline": "origin",
    "backends.seed": TOP,
    "loadtests": TOP,
    "stack": TOP,
}
MODULES: dict[str, str] = {
    "backends": GROUND,
    "cache": GROUND,
    "cache.keys": GROUND,
    "cache.policy": GROUND,
    "cache.canonical": GROUND,
    "cache.page_cache": GROUND,
    "cache.single_flight": GROUND,
    "edge_config": GROUND,
    "edge_config.regions": GROUND,
    "edge_config.ports": GROUND,
    "edge_config.vcl": TOP,  # VCL generation and the Varnish runner serve `up`, the CLI and the benchmarks
    "edge_config.varnish": TOP,
    "edge_config.varnish_exporter": TOP,  # started by `up --edge varnish` beside the edges
    "storefront.__main__": TOP,  # `python -m storefront` runs the CLI; nothing imports it
}
# Known exceptions, each with its reason: (importer, imported). Empty is the goal.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


def floor_of(module: str, packages: Mapping[str, str] = PACKAGES, modules: Mapping[str, str] = MODULES) -> str | None:
    if module in modules:
        return modules[module]
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if (prefix := ".".join(parts[:end])) in packages:
            return packages[prefix]
    return None


def may_import(importer: str, imported: str) -> bool:
    """The composition root imports anything; a service imports the ground floor and itself; the ground floor only
    itself."""
    return importer == TOP or imported in (GROUND, importer)


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the top-level packages under `root` (tests aside), by dotted name."""
    found = {}
    for init in sorted(root.glob("*/__init__.py")):
        package = init.parent
        if package.name == "tests":
            continue
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules the file's import statements name, anywhere in it (inside functions and under
    TYPE_CHECKING too: they are dependencies all the same). `from a import b` names `a.b` when that is a module,
    else `a`; `import a.b.c` names the longest of `a.b.c`, `a.b`, `a` that is one."""

    def longest(name: str) -> str | None:
        parts = name.split(".")
        return next((p for end in range(len(parts), 0, -1) if (p := ".".join(parts[:end])) in known), None)

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {longest(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else longest(base))
    return {name for name in found if name is not None} - {module}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules(root)
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


@dataclass(frozen=True)
class Report:
    unplaced: list[str]  # modules no floor covers
    violations: list[tuple[str, str, str, str]]  # importer, imported, importer's floor, imported floor
    cycles: list[list[str]]  # strongly connected groups of modules


def check(root: Path, packages: Mapping[str, str] = PACKAGES, modules: Mapping[str, str] = MODULES) -> Report:
    graph = import_graph(root)
    floors = {name: floor_of(name, packages, modules) for name in graph}
    unplaced = sorted(name for name, floor in floors.items() if floor is None)
    violations = sorted(
        (importer, imported, floors[importer] or "?", floors[imported] or "?")
        for importer, targets in graph.items()
        for imported in targets
        if floors[importer] is not None
        and floors[imported] is not None
        and not may_import(floors[importer], floors[imported])  # type: ignore[arg-type]
        and (importer, imported) not in ALLOWED
    )
    return Report(unplaced, violations, cycles(graph))


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_module_stands_on_a_floor_no_import_runs_up_or_across_and_nothing_circles() -> None:
    report = check(ROOT)
    assert report.unplaced == [], "give these modules a floor in PACKAGES or MODULES"
    assert report.violations == []
    assert report.cycles == []


def test_the_checker_finds_a_violation_a_circle_and_an_unplaced_module(tmp_path: Path) -> None:
    files = {
        "low/__init__.py": "",
        "low/base.py": "from svc_a.app import thing  # ground floor importing a service\n",
        "svc_a/__init__.py": "",
        "svc_a/app.py": "def f():\n    from svc_b import app  # one service importing another, lazily\n",
        "svc_b/__init__.py": "",
        "svc_b/app.py": "from . import other\n",
        "svc_b/extra.py": "from top.cli import main  # a service importing the root\n",
        "svc_b/other.py": "from svc_b.app import x  # a circle with app.py\n",
        "top/__init__.py": "",
        "top/cli.py": "import svc_a.app\nimport low.base\n",
        "stray/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    packages = {"low": GROUND, "svc_a": "a", "svc_b": "b", "top": TOP}
    report = check(tmp_path, packages, {})
    assert report.unplaced == ["stray"]
    assert report.violations == [
        ("low.base", "svc_a.app", GROUND, "a"),
        ("svc_a.app", "svc_b.app", "a", "b"),
        ("svc_b.extra", "top.cli", "b", TOP),
    ]
    assert report.cycles == [["svc_b.app", "svc_b.other"]]
