"""Reading server entries from an ``mcpServers`` JSON config file.

This is the format Claude Desktop, Cursor and VS Code use::

    {"mcpServers": {
      "files": {"command": "npx", "args": ["-y", "server-filesystem", "/tmp"]},
      "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
    }}

VS Code names the top-level object ``"servers"``; both names are accepted, and
``"mcpServers"`` is the one read when a file has both. Each
entry becomes a :class:`ServerConfig`, with ``${VAR}`` and ``${env:VAR}`` in its
strings expanded from the environment. Nothing here starts a server or opens a
connection.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union
from urllib.parse import urlsplit

from .errors import MCPSyncError

__all__ = ["ConfigError", "ServerConfig", "list_servers", "load_server_config"]

#: The top-level keys that hold the server entries, in the order they are looked for.
SERVERS_KEYS = ("mcpServers", "servers")

#: The transports a :class:`ServerConfig` can name.
TRANSPORTS = ("stdio", "http", "sse")

# Hint spellings seen in the wild, compared after lower-casing and dropping "-" and "_",
# so "streamable-http", "streamableHttp" and "streamable_http" all mean "http".
_TRANSPORT_HINTS = {"stdio": "stdio", "http": "http", "streamablehttp": "http", "sse": "sse"}

_HINT_KEYS = ("type", "transport")
_KNOWN_KEYS = frozenset({"command", "args", "env", "cwd", "url", "headers", *_HINT_KEYS})

# Only the ${...} forms are variables; a lone "$" or "$$" is kept as written.
_VARIABLE = re.compile(r"\$\{(?:env:)?([^{}]*)\}")

#: What the functions here read: a JSON file's path, or the already-parsed document.
Source = Union[str, os.PathLike[str], Mapping[str, Any]]


class ConfigError(MCPSyncError, ValueError):
    """A server config could not be read, or an entry in it is malformed.

    ``server`` names the entry and ``key`` the field at fault (either may be None);
    ``path`` is the file, when the config came from one. The message names all
    three, and never a field's value, which may hold a token.
    """

    def __init__(
        self,
        problem: str,
        *,
        server: Optional[str] = None,
        key: Optional[str] = None,
        path: Optional[str] = None,
    ):
        self.server = server
        self.key = key
        self.path = path
        message = f"{_q(key)} {problem}" if key is not None else problem
        if server is not None:
            message = f"server {_q(server)}: {message}"
        if path is not None:
            message = f"{path}: {message}"
        super().__init__(message)


@dataclass(frozen=True)
class ServerConfig:
    """One server entry, validated and with its variables expanded.

    ``transport`` is ``"stdio"`` (``command``, ``args``, ``env`` and ``cwd`` apply),
    ``"http"`` (Streamable HTTP) or ``"sse"`` (the old HTTP+SSE transport); both
    HTTP transports use ``url`` and ``headers``. ``cwd`` is kept exactly as written,
    relative or not. Keys mcp_sync does not know are kept, unexpanded, in ``extra``.
    """

    name: str
    transport: str
    command: Optional[str] = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)  # may hold secrets
    cwd: Optional[str] = None
    url: Optional[str] = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold secrets
    extra: dict[str, Any] = field(default_factory=dict)


def list_servers(source: Source) -> list[str]:
    """Return the server names in ``source`` (a JSON file's path, or its parsed dict), in order.

    Raises :class:`ConfigError` if the file cannot be read or has no servers object.
    """
    servers, _path = _servers(source)
    return list(servers)


def load_server_config(
    source: Source, name: str, *, environ: Optional[Mapping[str, str]] = None
) -> ServerConfig:
    """Return the entry called ``name`` in ``source`` as a :class:`ServerConfig`.

    ``source`` is the path of a UTF-8 JSON file or an already-parsed dict. ``${VAR}``
    and ``${env:VAR}`` in ``command``, ``args``, ``cwd``, ``url`` and the values of
    ``env`` and ``headers`` are taken from ``environ`` (default: ``os.environ``).
    Raises :class:`ConfigError` if the file cannot be read, the name is not defined,
    a variable is not set, or a field is malformed.
    """
    servers, path = _servers(source)
    if name not in servers:
        names = ", ".join(_q(n) for n in servers) or "no servers"
        raise ConfigError(f"not found; the config defines {names}", server=name, path=path)
    return _Entry(name, servers[name], os.environ if environ is None else environ, path).build()


# --- reading -------------------------------------------------------------------------------


def _servers(source: Source) -> tuple[Mapping[str, Any], Optional[str]]:
    """Return the servers object of ``source`` and the path it was read from (None for a dict)."""
    path: Optional[str] = None
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = os.fspath(source)
        data = _read_json(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"the config must be a JSON object, not {_kind(data)}", path=path)
    for key in SERVERS_KEYS:
        if key in data:
            servers = data[key]
            if not isinstance(servers, Mapping):
                raise ConfigError(f"must be an object, not {_kind(servers)}", key=key, path=path)
            return servers, path
    raise ConfigError('the config has no "mcpServers" (or "servers") object', path=path)


def _read_json(path: str) -> Any:
    try:
        # utf-8-sig: editors on Windows may start the file with a BOM, which json rejects.
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError("config file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8: {exc.reason}", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", path=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=path
        ) from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", path=path) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ConfigError(f"invalid JSON: {exc}", path=path) from None


# --- one entry -----------------------------------------------------------------------------


class _Entry:
    """Validates and expands one server entry; every error names its server and key."""

    def __init__(self, name: str, raw: Any, environ: Mapping[str, str], path: Optional[str]):
        self.name = name
        self.raw = raw
        self.environ = environ
        self.path = path

    def error(self, problem: str, key: Optional[str] = None) -> ConfigError:
        return ConfigError(problem, server=self.name, key=key, path=self.path)

    def build(self) -> ServerConfig:
        if not isinstance(self.raw, Mapping):
            raise self.error(f"the entry must be an object, not {_kind(self.raw)}")
        # A null field is treated as absent: some generators write "env": null.
        raw = {k: v for k, v in self.raw.items() if v is not None}
        transport = self.transport(raw)

        command = None
        if "command" in raw:
            command = self.expand(self.string(raw["command"], "command"), "command")
            # Checked after expansion too: "${CMD}" with CMD="" names no program either.
            if not command.strip():
                raise self.error("must be a non-empty string", "command")
        args = tuple(
            self.expand(arg, "args", f"item {i}")
            for i, arg in enumerate(self.string_list(raw.get("args", []), "args"))
        )
        env = self.string_map(raw.get("env", {}), "env")
        cwd = None
        if "cwd" in raw:
            cwd = self.expand(self.string(raw["cwd"], "cwd"), "cwd")
            if not cwd:
                raise self.error("must be a non-empty string", "cwd")
        url = None
        if "url" in raw:
            url = self.expand(self.string(raw["url"], "url"), "url")
            # Checked after expansion, so "${BASE}/mcp" is judged by what it becomes.
            try:
                parts = urlsplit(url)
                if "[" in parts.netloc:
                    # Python before 3.11 lets any text through between the brackets.
                    ipaddress.IPv6Address((parts.hostname or "").split("%", 1)[0])
            except ValueError:  # a malformed host, such as an unclosed "[" of IPv6
                raise self.error("is not a valid URL", "url") from None
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                raise self.error("must be an http:// or https:// URL", "url")
        headers = self.string_map(raw.get("headers", {}), "headers")

        return ServerConfig(
            name=self.name,
            transport=transport,
            command=command,
            args=args,
            env=env,
            cwd=cwd,
            url=url,
            headers=headers,
            extra={k: v for k, v in self.raw.items() if k not in _KNOWN_KEYS},
        )

    def transport(self, raw: Mapping[str, Any]) -> str:
        """Return the entry's transport, from its hint or else from command/url."""
        chosen: Optional[tuple[str, str]] = None  # (hint key, transport)
        for key in _HINT_KEYS:
            if key not in raw:
                continue
            value = raw[key]
            normal = (
                value.lower().replace("-", "").replace("_", "") if isinstance(value, str) else ""
            )
            if normal not in _TRANSPORT_HINTS:
                raise self.error(
                    'must be one of "stdio", "http", "streamable-http", "streamableHttp", "sse"',
                    key,
                )
            if chosen is not None and chosen[1] != _TRANSPORT_HINTS[normal]:
                raise self.error(f"contradicts {_q(chosen[0])}", key)
            chosen = (key, _TRANSPORT_HINTS[normal])

        if chosen is not None:
            key, transport = chosen
            needs = "command" if transport == "stdio" else "url"
            if needs not in raw:
                raise self.error(f"is {_q(raw[key])}, which needs {_q(needs)}", key)
            return transport
        if "command" in raw and "url" in raw:
            raise self.error('is required when both "command" and "url" are given', "type")
        if "command" in raw:
            return "stdio"
        if "url" in raw:
            return "http"
        raise self.error('or "url" is required', "command")

    # --- field checks ---

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(f"must be a string, not {_kind(value)}", key)
        return value

    def string_list(self, value: Any, key: str) -> list[str]:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.error("must be a list of strings", key)
        return list(value)

    def string_map(self, value: Any, key: str) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise self.error(f"must be an object of strings, not {_kind(value)}", key)
        result: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise self.error("must be an object of strings", key)
            if not isinstance(v, str):
                raise self.error(f"value {_q(k)} must be a string, not {_kind(v)}", key)
            result[k] = self.expand(v, key, f"value {_q(k)}")
        return result

    def expand(self, text: str, key: str, where: str = "") -> str:
        """Replace each ``${VAR}`` / ``${env:VAR}`` in ``text``, once and not recursively."""

        def lookup(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in self.environ:
                what = f"{where} uses" if where else "uses"
                raise self.error(f"{what} undefined variable {_q(variable)}", key)
            return self.environ[variable]

        return _VARIABLE.sub(lookup, text)


# --- helpers -------------------------------------------------------------------------------


def _q(text: Any) -> str:
    """Quote a name for a message, JSON style."""
    return json.dumps(text, ensure_ascii=False)


def _kind(value: Any) -> str:
    """Name the JSON type of ``value``, for messages that must not show the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__
