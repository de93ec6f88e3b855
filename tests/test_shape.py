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
