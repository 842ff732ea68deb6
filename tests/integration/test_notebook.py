"""A Jupyter notebook runs the quickstart: a blocking client inside a kernel whose event
loop is running, and tool lists and results that display as HTML.

The notebook runs with nbclient on an ipykernel of the interpreter that runs the tests,
described by a kernelspec written to a temporary directory: no installed kernelspec and
no Jupyter configuration of the machine is used. nbclient, nbformat and ipykernel are
test dependencies; without them this module fails to import, and the test fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import mcp_sync

KERNEL = "mcp-sync-test"


def _cells(url: str, options: str = "") -> list[str]:
    return [
        # The quickstart, as docs/quickstart.md gives it.
        f"""import mcp_sync

with mcp_sync.Client({url!r}) as client:
    print(client.server_info.name, client.protocol_version)
    for tool in client.list_tools():
        print(tool.name, "-", tool.description)
    result = client.call_tool("add", {{"a": 2, "b": 40}})
    print(result.text, result.structured_content)""",
        # The premise: the kernel runs this cell inside a running event loop.
        """import asyncio

try:
    asyncio.get_running_loop()
    print("loop running: True")
except RuntimeError:
    print("loop running: False")""",
        f"client = mcp_sync.Client({url!r}{options}).connect()\nclient.era",
        "tools = client.list_tools()\ntools",
        'client.call_tool("add", {"a": 2, "b": 40})',
        'client.call_tool("image", {})',
        "client.close()\nclient.state",
    ]


def _kernelspec(directory: Path) -> KernelSpecManager:
    """A kernelspec for this interpreter, importing the mcp_sync under test."""
    package_parent = str(Path(mcp_sync.__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    spec_dir = directory / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mcp_sync tests",
        "language": "python",
        "env": {"PYTHONPATH": python_path},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(directory / "kernels")])


def _run(cells: list[str], tmp_path: Path) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=_kernelspec(tmp_path))
    runner = NotebookClient(
        notebook,
        km=manager,
        timeout=60,
        startup_timeout=60,
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    runner.execute()
    return notebook


@pytest.fixture
def jupyter_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep Jupyter's and IPython's files in the test's directory, away from the home one."""
    for name, sub in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("IPYTHONDIR", "ipython"),
    ):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return tmp_path


def _outputs(cell: Any, output_type: str) -> list[Any]:
    return [o for o in cell.outputs if o.output_type == output_type]


@pytest.mark.parametrize(
    ("expected_era", "options"), [("modern", ""), ("legacy", ', protocol_version="2025-11-25"')]
)
def test_a_notebook_runs_the_quickstart_and_displays_results_as_html(
    mcp_server: Any, jupyter_dirs: Path, expected_era: str, options: str
) -> None:
    notebook = _run(_cells(mcp_server.url, options), jupyter_dirs)
    quickstart, loop, connect, tools, result, image, close = notebook.cells

    for cell in notebook.cells:
        assert _outputs(cell, "error") == [], cell.outputs
        for stream in _outputs(cell, "stream"):
            assert "Traceback" not in stream.text, stream.text
            assert "event loop" not in stream.text, stream.text

    printed = "".join(s.text for s in _outputs(quickstart, "stream") if s.name == "stdout")
    assert printed.startswith("everything-server ")
    assert "add - Add two integers." in printed
    assert "42 {'result': 42}" in printed
    assert "loop running: True" in "".join(s.text for s in _outputs(loop, "stream"))
    assert _outputs(connect, "execute_result")[0].data["text/plain"] == repr(expected_era)

    (shown,) = _outputs(tools, "execute_result")
    assert "text/html" in shown.data and "text/markdown" in shown.data
    assert "<table>" in shown.data["text/html"]
    assert "<code>add</code>" in shown.data["text/html"]

    (shown,) = _outputs(result, "execute_result")
    assert "tool result" in shown.data["text/html"]
    assert "42" in shown.data["text/html"]

    (shown,) = _outputs(image, "execute_result")
    assert '<img src="data:image/png;base64,' in shown.data["text/html"]

    assert _outputs(close, "execute_result")[0].data["text/plain"] == "'closed'"
