"""Sphinx configuration for the mcp_sync documentation.

Build with ``tox -e docs`` (``sphinx-build -W -n``). The build is offline by
default; set ``MCP_SYNC_DOCS_INTERSPHINX=1`` to link to the Python, requests
and tenacity docs through intersphinx, which needs the network.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from datetime import date
from typing import Any

import mcp_sync

project = "mcp_sync"
author = "mcp_sync contributors"
copyright = f"{date.today().year}, {author}"
release = mcp_sync.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST (Markdown) settings.
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

# autodoc settings.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}

# Cross references: every reference must resolve (-n), except those that
# point into third-party packages whose inventories are not available offline.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"requests(\..*)?"),
    (r"py:.*", r"urllib3(\..*)?"),
    (r"py:.*", r"tenacity(\..*)?"),
    (r"py:.*", r"sseclient(\..*)?"),
    (r"py:.*", r"(cryptography|jwt|keyring)(\..*)?"),
    # The union of cryptography's private key classes, named only for type checkers.
    (r"py:class", r"_PrivateKey"),
    # Single-letter TypeVars (``T``, ``W``) have no page of their own.
    (r"py:(class|obj)", r"(mcp_sync\.[\w.]+\.)?[A-Z]"),
]

if os.environ.get("MCP_SYNC_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "requests": ("https://requests.readthedocs.io/en/latest", None),
        "tenacity": ("https://tenacity.readthedocs.io/en/latest", None),
    }
else:
    # Offline: without the Python inventory, standard library types other than
    # builtins and typing names (which Sphinx resolves itself) cannot resolve.
    nitpick_ignore_regex += [
        (
            r"py:.*",
            r"(abc|collections\.abc|types|threading|queue|io|json|logging|os|enum|socket)\..*",
        ),
    ]

# Names that autodoc could not qualify (string annotations) and that name a
# type alias, or a third-party class, render as plain text. Any other
# unresolved reference, such as an undocumented mcp_sync class, still fails.
_THIRD_PARTY = ("requests", "urllib3", "tenacity", "sseclient")


def _module_globals() -> list[dict[str, Any]]:
    spaces = [vars(mcp_sync)]
    for info in pkgutil.walk_packages(mcp_sync.__path__, "mcp_sync."):
        try:
            spaces.append(vars(importlib.import_module(info.name)))
        except Exception:  # a module that cannot import has nothing to resolve
            continue
    return spaces


def _unlinked_name(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py" or node.get("reftype") not in ("class", "obj", "data"):
        return None
    target = node["reftarget"]
    if "." in target:
        return None
    for space in _module_globals():
        if target not in space:
            continue
        obj = space[target]
        module = getattr(obj, "__module__", "") or ""
        if module.split(".")[0] in _THIRD_PARTY or not inspect.isclass(obj):
            return contnode
    return None


def setup(app: Any) -> None:
    app.connect("missing-reference", _unlinked_name)


# HTML output.
html_theme = "furo"
html_title = f"mcp_sync {release}"
html_static_path: list[str] = []
