"""No code execution or unsafe deserialisation anywhere in the package's source.

Everything a server sends is JSON parsed with ``json``; nothing in ``mcp_sync`` may
evaluate, unpickle or unmarshal data, load YAML unsafely, or run a shell. The scan
reads every module with ``ast``, so comments and strings do not count. Nothing is
allow-listed; ``importlib.import_module`` may only name a literal module or a submodule
of the importing package (``f"{__name__}.x"``, the lazy imports of ``mcp_sync.testing``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mcp_sync

PACKAGE = Path(mcp_sync.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

# Modules whose import alone is a finding: they exist to (de)serialise arbitrary objects.
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}
# Calls by bare name (builtins).
FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__", "execfile", "input"}
# Calls of module.function.
FORBIDDEN_ATTRIBUTES = {
    ("yaml", "load"),
    ("yaml", "load_all"),
    ("yaml", "unsafe_load"),
    ("yaml", "unsafe_load_all"),
    ("yaml", "full_load"),
    ("yaml", "full_load_all"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "compile"),
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
    ("pickle", "loads"),
    ("marshal", "loads"),
}


def _fixed_or_own_module(arg: ast.expr) -> bool:
    """A module name that is a literal, or ``f"{__name__}.<...>"``: one of the package's own."""
    if isinstance(arg, ast.Constant):
        return True
    if isinstance(arg, ast.JoinedStr) and len(arg.values) >= 2:
        head, dot = arg.values[0], arg.values[1]
        return (
            isinstance(head, ast.FormattedValue)
            and isinstance(head.value, ast.Name)
            and head.value.id == "__name__"
            and isinstance(dot, ast.Constant)
            and str(dot.value).startswith(".")
        )
    return False


def _findings(path: Path) -> list[str]:
    return _findings_in(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))


def _findings_in(code: str, where: str) -> list[str]:
    tree = ast.parse(code, filename=where)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{where}:{line}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            if module in FORBIDDEN_MODULES:
                found.append(f"{where}:{line}: from {node.module} import ...")
            for alias in node.names:
                if (module, alias.name) in FORBIDDEN_ATTRIBUTES or (
                    module == "builtins" and alias.name in FORBIDDEN_NAMES
                ):
                    found.append(f"{where}:{line}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{where}:{line}: {func.id}(...)")
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in FORBIDDEN_ATTRIBUTES
            ):
                found.append(f"{where}:{line}: {func.value.id}.{func.attr}(...)")
            for keyword in node.keywords:
                if (
                    keyword.arg == "shell"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is not False
                ):
                    found.append(f"{where}:{line}: shell={keyword.value.value!r}")
                elif keyword.arg == "shell" and not isinstance(keyword.value, ast.Constant):
                    found.append(f"{where}:{line}: shell= computed at run time")
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "import_module"
                and node.args
                and not _fixed_or_own_module(node.args[0])
            ):
                found.append(f"{where}:{line}: import_module() of a computed name")
            if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
                target, name = node.args[0], node.args[1]
                if (
                    isinstance(target, ast.Name)
                    and target.id == "builtins"
                    and not (isinstance(name, ast.Constant) and name.value not in FORBIDDEN_NAMES)
                ):
                    found.append(f"{where}:{line}: getattr(builtins, ...)")
    return found


def test_the_scan_sees_the_whole_package():
    names = {str(path.relative_to(PACKAGE)) for path in SOURCES}
    assert {"client.py", "jsonrpc.py", "cli.py"} <= names
    assert any(name.startswith("transports") for name in names)
    assert any(name.startswith("oauth") for name in names)


def test_the_scan_finds_what_it_looks_for():
    code = (
        "import pickle\n"
        "from yaml import load\n"
        "import yaml\n"
        "eval(x)\n"
        "yaml.load(s)\n"
        "subprocess.run(c, shell=True)\n"
        "importlib.import_module(name)\n"
        'importlib.import_module(f"{__name__}.server")\n'
    )
    found = _findings_in(code, "sample.py")
    assert len(found) == 6  # `import yaml` alone is no finding; its unsafe calls are


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_eval_exec_pickle_marshal_shelve_unsafe_yaml_or_shell(path):
    assert _findings(path) == []
