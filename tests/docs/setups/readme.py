"""README.md: its OAuth example signs in to a local server that wants OAuth."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

from support.docs_oauth import oauth_docs_server


def setup(namespace: dict[str, Any], server: Any, docs: Any) -> Iterator[None]:
    config = str(docs.workdir.parent / "config")
    with mock.patch.dict(os.environ, {"XDG_CONFIG_HOME": config}), oauth_docs_server(docs):
        yield
