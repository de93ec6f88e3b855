"""The code's shape, checked: no function over 60 lines, a short pipeline, no module reaching
into another's private names, and one option table behind both the CLI and the API."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ds_slowmo
from ds_slowmo.cli import build_parser, config_from_args
from ds_slowmo.config import Config
from ds_slowmo.options import OPTIONS

PKG = Path(ds_slowmo.__file__).parent
MAX_FUNCTION_LINES = 60
MAX_PIPELINE_LINES = 350


def _modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_is_longer_than_60_lines():
    long = []
    for path in _modules():
        for fn in _functions(ast.parse(path.read_text())):
            n = fn.end_lineno - fn.lineno + 1
            if n > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(PKG)}:{fn.lineno} {fn.name} ({n} lines)")
    assert not long, long


def test_the_function_length_check_can_fail():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    fn = next(_functions(ast.parse(f"def f():\n{body}\n")))
    assert fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES


def test_pipeline_is_short():
    assert len((PKG / "pipeline.py").read_text().splitlines()) <= MAX_PIPELINE_LINES


def test_no_module_imports_another_modules_private_names():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{path.relative_to(PKG)}: from {node.module} import {alias.name}")
    assert not bad, bad


def test_every_cli_default_is_the_apis():
    """The command line with no options and the API with no keywords make the same Config, and
    every table default is the Config field's."""
    cli = config_from_args(build_parser().parse_args([]))
    assert cli == Config.from_strings() == Config()
    fields = {f for f in Config.__dataclass_fields__}
    for opt in OPTIONS:
        if opt.cli_only or opt.field in ("slow_rate",):
            continue
        assert opt.field in fields, opt.field
        want = Config.__dataclass_fields__[opt.field].default
        assert want == opt.default or (opt.default is None and want == ()), opt.field
    sig = inspect.signature(ds_slowmo.slowmo)
    assert [p for p in sig.parameters] == ["src", "dst", "options"]
    assert Config().model == "rife"


def test_every_option_has_a_flag_and_help():
    for opt in OPTIONS:
        assert opt.help and opt.flags, opt.field
    flags = [f for o in OPTIONS for f in o.flags]
    assert len(flags) == len(set(flags))


# -- imports flow one way ---------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = ("ds_slowmo",) + path.relative_to(PKG).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in _modules()}


def _imports(name: str, tree: ast.AST):
    """Every import in a module, at any depth (inside functions too), as (target module, the
    name taken from it or None, the local name a module is bound to or None)."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in _walk_imported(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, None, alias.asname
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:  # a submodule
                    yield f"{base}.{alias.name}", None, alias.asname or alias.name
                elif base in MODULES:
                    yield base, alias.name, None


def _walk_imported(tree: ast.AST):
    """``ast.walk``, but not into ``if __name__ == "__main__":`` (a module run as a script may
    import its own importable copy: no circle)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        main = isinstance(node, ast.If) and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"'
        todo.extend(node.orelse if main else ast.iter_child_nodes(node))


def _import_graph(modules: dict[str, ast.AST]) -> dict[str, set[str]]:
    return {name: {target for target, _, _ in _imports(name, tree)} for name, tree in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while not group or w != v:
                w = stack.pop()
                group.add(w)
            if len(group) > 1 or v in graph.get(v, ()):
                found.append(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _all_of(name: str, trees: dict[str, ast.Module]) -> "set[str] | None":
    """A module's ``__all__`` as written: lists of strings, added together, and ``*x.__all__``
    of a module it imports as ``x`` (a package offering its rooms' names)."""
    tree = trees[name]
    bound = {local: target for target, _, local in _imports(name, tree) if local is not None}

    def names(node: ast.expr) -> list[str]:
        if isinstance(node, ast.BinOp):
            return names(node.left) + names(node.right)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [n for elt in node.elts for n in names(elt)]
        if isinstance(node, ast.Starred):
            room = node.value
            assert isinstance(room, ast.Attribute) and room.attr == "__all__" and isinstance(room.value, ast.Name), ast.unparse(node)
            return sorted(_all_of(bound[room.value.id], trees) or ())
        return [ast.literal_eval(node)]

    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(names(node.value))
    return None


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def test_no_new_import_circle():
    circles = [sorted(c) for c in _circles(_import_graph(_trees()))]
    assert not circles, f"import circles: {circles}"


def test_the_circle_check_can_fail():
    graph = _import_graph({
        "ds_slowmo.cli": ast.parse("def f():\n    from .worker import x\n"),
        "ds_slowmo.worker": ast.parse("from . import cli\nif __name__ == '__main__':\n    from ds_slowmo import worker\n"),
        "ds_slowmo.plan": ast.parse("import ds_slowmo.plan\n"),
    })  # fmt: skip
    assert graph["ds_slowmo.cli"] == {"ds_slowmo.worker"} and graph["ds_slowmo.worker"] == {"ds_slowmo.cli"}
    assert sorted(map(sorted, _circles(graph))) == [["ds_slowmo.cli", "ds_slowmo.worker"], ["ds_slowmo.plan"]]


def _all_gaps(trees: dict[str, ast.Module]) -> set[tuple[str, str, str]]:
    """(importer, module, name) for each name a ds_slowmo module takes from another, by
    ``from .x import name`` or as ``x.name`` of an imported module, that x's ``__all__`` leaves out
    (a package's ``__all__`` counts its re-exports; submodules are not names)."""
    alls = {name: _all_of(name, trees) for name in trees}
    gaps = set()
    for name, tree in trees.items():
        bound = {}
        for target, taken, local in _imports(name, tree):
            if taken not in (None, "*") and alls[target] is not None and taken not in alls[target]:
                gaps.add((name, target, taken))
            if local is not None:
                bound[local] = target
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                target = bound[node.value.id]
                listed = alls[target]
                if listed is not None and node.attr not in listed and node.attr != "__all__" and f"{target}.{node.attr}" not in MODULES:
                    gaps.add((name, target, node.attr))
    return gaps


def test_every_name_taken_from_a_module_is_in_its_all():
    gaps = sorted(_all_gaps(_trees()))
    assert not gaps, gaps


def test_the_all_check_can_fail():
    MODULES.setdefault("ds_slowmo.x_", PKG / "x_.py")
    MODULES.setdefault("ds_slowmo.y_", PKG / "y_.py")
    MODULES.setdefault("ds_slowmo.z_", PKG / "z_.py")
    try:
        trees = {
            "ds_slowmo.x_": ast.parse("__all__ = ['a'] + ['b']\na = b = c = 1\n"),
            "ds_slowmo.y_": ast.parse("from .x_ import a, c\nfrom . import x_ as xx\nxx.b, xx.d\nfrom .z_ import b, e, c\n"),
            "ds_slowmo.z_": ast.parse("from . import x_ as _x\nfrom .x_ import *\n__all__ = [*_x.__all__, 'e']\ne = 1\n"),
        }  # fmt: skip
        assert _all_gaps(trees) == {("ds_slowmo.y_", "ds_slowmo.x_", "c"), ("ds_slowmo.y_", "ds_slowmo.x_", "d"),
                                    ("ds_slowmo.y_", "ds_slowmo.z_", "c")}  # fmt: skip
    finally:
        del MODULES["ds_slowmo.x_"], MODULES["ds_slowmo.y_"], MODULES["ds_slowmo.z_"]
