"""The package boundaries of README's "Layout", read from the source with `ast` (nothing imported).

- A module under `network/<area>/` imports neither Flask nor a web package, nor a top-level
  `network` module that does (the app factory, the scheduler's wiring).
- `vendor_portal` and `retailer_api` never import each other; `api_common` imports neither.
- The areas form layers: every import between two areas goes down `LAYERS`, so there is no cycle.

Every import counts, those inside functions too; only `if TYPE_CHECKING:` blocks are skipped,
as they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB_PACKAGES = ("retailer_api", "vendor_portal", "api_common", "console")

# Bottom to top: an area may import the areas listed before it, never one listed after it.
LAYERS = (
    "edi",  # X12 reading and writing, no rules of ours
    "idempotency",  # stored answers to repeated writes
    "partners",  # organizations, users, connections, invites, API clients
    "outbox",  # domain events, webhook endpoints and the fan-out every area writes to
    "catalog",  # vendor variants, retailer items and their sources
    "stock",  # positions, snapshots, the ledger; the row types feeds produce
    "availability",  # the formula over stock, holds and connections; publishing changes
    "orders",  # placement, transitions, rerouting, returns, order read models
    "flags",  # at-risk lines, oversell holds, reroute policy, vendor notices
    "feeds",  # reading vendor files, pulling, applying counts
    "uploads",  # files and counts a person sends by hand, through the feed pipeline
    "trading",  # EDI trading partners: 850/860/997 out, 855/856/810 applied, invoices, SFTP
    "products",  # saving a vendor's variant and telling the retailers it concerns
    "connectors",  # storefront connectors: store orders in, stock out, tracking back
    "delivery",  # sending the outbox to webhook endpoints
    "history",  # month partitions of the history tables: made ahead, dropped after retention
    "portal_views",  # read models of the vendor portal's pages
    "console_views",  # read models of the retailer console's pages
    "simulation",  # the network simulator, driving the hub as a whole
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str | None = None) -> list[tuple[str, int]]:
    """(imported module, line) of every import that can run, at module level or in a function."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # `from package import module` imports the module.
            found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def area_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "network" and (ROOT / "network" / parts[1]).is_dir():
        return parts[1]
    return None


def is_web(module: str) -> bool:
    top = module.split(".")[0]
    return top == "flask" or top.startswith("flask_") or top in WEB_PACKAGES


def flask_side_modules() -> set[str]:
    """Top-level `network` modules that import Flask or a web package (the app's wiring)."""
    return {
        module_name(path)
        for path in sorted((ROOT / "network").glob("*.py"))
        if any(is_web(module) for module, _ in imports_of(path))
    }


def area_edges() -> dict[tuple[str, str], list[str]]:
    """{(area, imported area): ["file:line -> module", ...]} over every module of every area."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sources("network"):
        area = area_of(module_name(path))
        if area is None:
            continue
        for module, line in imports_of(path):
            other = area_of(module)
            if other is not None and other != area:
                edges[area, other].append(f"{path.relative_to(ROOT)}:{line} -> {module}")
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more areas (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def test_areas_import_no_flask_and_no_web_package():
    banned = flask_side_modules()
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources("network")
        if area_of(module_name(path)) is not None
        for module, line in imports_of(path)
        if is_web(module) or module in banned or module.rpartition(".")[0] in banned
    ]
    assert not found, "network/<area>/ must not import Flask or a web package:\n" + "\n".join(found)


def test_the_web_packages_stand_side_by_side():
    rules = {
        "vendor_portal": ("retailer_api", "console"),
        "retailer_api": ("vendor_portal", "console"),
        "api_common": ("retailer_api", "vendor_portal", "console"),
    }
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package, banned in rules.items()
        for path in sources(package)
        for module, line in imports_of(path)
        if module.split(".")[0] in banned
    ]
    assert not found, "a web package imports one it must not:\n" + "\n".join(found)


def test_no_import_cycle_between_areas():
    edges = area_edges()
    found = cycles(edges)
    detail = [
        f"{a} -> {b}: {where[0]}"
        for group in found
        for (a, b), where in sorted(edges.items())
        if a in group and b in group
    ]
    assert not found, f"import cycles between areas {found}:\n" + "\n".join(detail)


def test_every_area_has_its_place_in_the_layers():
    areas = {path.name for path in (ROOT / "network").iterdir() if (path / "__init__.py").exists()}
    assert areas - set(LAYERS) == set(), "add the new area to LAYERS here and in README's Layout"
    assert set(LAYERS) - areas == set(), "an area in LAYERS no longer exists"


def test_areas_import_only_the_layers_below_them():
    upward = [
        f"{a} (layer {LAYERS.index(a)}) imports {b} (layer {LAYERS.index(b)}): {where[0]}"
        for (a, b), where in sorted(area_edges().items())
        if a in LAYERS and b in LAYERS and LAYERS.index(b) > LAYERS.index(a)
    ]
    assert not upward, "an area imports one above it (pass an argument or send a signal):\n" + "\n".join(
        upward
    )


def test_the_checks_see_function_local_imports_and_skip_type_checking_ones(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from network.flags.hooks import Refusal\n"
        "def f():\n"
        "    from network.orders import services\n"
        "    import flask\n",
        encoding="utf-8",
    )
    found = {module for module, _ in imports_of(source, "network.sample")}
    assert "network.orders.services" in found and "flask" in found
    assert not any(module.startswith("network.flags") for module in found)
    assert cycles({("a", "b"): ["x"], ("b", "c"): ["y"], ("c", "a"): ["z"]}) == [["a", "b", "c"]]
