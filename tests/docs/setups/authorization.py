"""docs/authorization.md: a local server that wants OAuth, and the names its fragments use
(a PEM key, a user's ID token, a client secret in the environment, the server's URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

from support.docs_oauth import DOCS_OAUTH_URL, oauth_docs_server

from mcp_sync.oauth import SigningKey


def setup(namespace: dict[str, Any], server: Any, docs: Any) -> Iterator[None]:
    environment = {
        "XDG_CONFIG_HOME": str(docs.workdir.parent / "config"),
        "MCP_CLIENT_SECRET": "a-client-secret",
    }
    with mock.patch.dict(os.environ, environment), oauth_docs_server(docs) as oauth_server:
        namespace.update(
            pem=SigningKey.generate("RS256").private_pem(),
            user_id_token="an-id-token-from-the-idp",
            MCP_URL=oauth_server.url,
        )
        yield
        # The web application's storage kept the signed-in user's tokens apart.
        assert namespace["oauth_for"] is not None
    assert DOCS_OAUTH_URL not in docs.substitutions
