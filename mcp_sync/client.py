"""The blocking MCP client."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Optional,
    TypeVar,
    Union,
)
from urllib.parse import urlsplit

from requests.auth import AuthBase
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_none,
)

from . import jsonrpc
from ._version import __version__
from .auth import as_auth
from .cache import ResultCache, cache_key
from .config import load_server_config
from .engine import CancelToken, Engine, ProgressCallback
from .errors import (
    CapabilityNotSupported,
    ClientClosedError,
    ClientStateError,
    HTTPStatusError,
    MCPError,
    MCPSyncError,
    MissingHandlerError,
    ProtocolError,
    RequestCancelled,
    RequestTimeout,
    SessionExpiredError,
    TransportError,
    UnsupportedProtocolVersion,
)
from .headers import InvalidToolHeader, tool_param_headers
from .retry import RetryPolicy
from .schema import validate_structured_content
from .tasks import TASKS_EXTENSION, Task, ToolTask, _task
from .transports._http import new_http, safe_url
from .transports.base import DEFAULT_MAX_MESSAGE_SIZE, SessionLost, StreamBroken, Transport
from .transports.http_sse import HTTPSSETransport
from .transports.modern_http import ModernHTTPTransport
from .transports.stdio import StderrTarget, StdioTransport
from .transports.streamable_http import StreamableHTTPTransport
from .types import (
    CallToolResult,
    CompleteResult,
    CreateMessageResult,
    ElicitResult,
    GetPromptResult,
    Implementation,
    InitializeResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    LoggingMessage,
    Prompt,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    Root,
    ServerCapabilities,
    Tool,
    ToolList,
    WireType,
)

__all__ = [
    "DEFAULT_MAX_INPUT_ROUNDS",
    "DEFAULT_MAX_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "LATEST_LEGACY_VERSION",
    "LATEST_VERSION",
    "LEGACY_VERSIONS",
    "LOG_LEVELS",
    "MODERN_VERSIONS",
    "SUPPORTED_VERSIONS",
    "Client",
    "RecoveryPolicy",
]

log = logging.getLogger("mcp_sync")
server_log = logging.getLogger("mcp_sync.server")

#: The modern (stateless) protocol revisions mcp_sync speaks, newest first.
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
#: The legacy (handshake) protocol revisions mcp_sync speaks, newest first.
LEGACY_VERSIONS: tuple[str, ...] = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0]
LATEST_VERSION = MODERN_VERSIONS[0]
#: Every protocol revision mcp_sync speaks, newest first.
SUPPORTED_VERSIONS: tuple[str, ...] = MODERN_VERSIONS + LEGACY_VERSIONS

#: How many input rounds (MRTR) one request may take before mcp_sync gives up.
DEFAULT_MAX_INPUT_ROUNDS = 10

# The server answered a modern request as a modern server does: these errors only
# come from a 2026-07-28 server, so the client fixes its request instead of falling back.
_HEADER_MISMATCH, _MISSING_CAPABILITY, _UNSUPPORTED_VERSION = -32020, -32021, -32022
_MODERN_ERRORS = (_HEADER_MISMATCH, _MISSING_CAPABILITY, _UNSUPPORTED_VERSION)

# The client capability each kind of input request needs.
_INPUT_CAPABILITIES = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}

# Requests whose answer may ask for more input (multi round-trip requests).
_INPUT_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})

_META = "io.modelcontextprotocol/"

# The era each origin was found to speak, for the life of the process.
_era_cache: dict[str, str] = {}
_era_lock = threading.Lock()  # guards _era_cache; any client's connecting thread


def _origin(url: str) -> str:
    # Keyed by endpoint, not just origin: one host may serve an old SSE endpoint next to
    # a modern one, and a mistyped path must not mark the whole host.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() + parts.path


class _NotModern(Exception):
    """Internal: the server did not answer the modern probe as a modern server.

    ``certain`` is False for a probe that timed out: fall back, but don't remember it.
    """

    def __init__(self, reason: str, certain: bool = True):
        self.certain = certain
        super().__init__(reason)


#: Seconds a request may wait for its response unless the call says otherwise.
DEFAULT_TIMEOUT = 60.0

#: Seconds progress notifications may stretch one request's wait to, in total.
DEFAULT_MAX_TIMEOUT = 600.0

#: Logging levels of RFC 5424, as ``logging/setLevel`` takes them.
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_PY_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emergency": logging.CRITICAL,
}

# Stops a server that hands out new cursors forever.
MAX_PAGES = 10_000

R = TypeVar("R", bound=WireType)

SamplingHandler = Callable[[dict[str, Any]], Union[CreateMessageResult, dict[str, Any]]]
ElicitationHandler = Callable[[dict[str, Any]], Union[ElicitResult, dict[str, Any]]]
RootsSpec = Union[Sequence[Union[str, Root]], Callable[[], Sequence[Union[str, Root]]]]


class _Unset:
    """The default of ``timeout=``: the client's own timeout. ``None`` means no timeout."""

    def __repr__(self) -> str:
        return "<client default>"


_UNSET: Any = _Unset()


@dataclass(frozen=True)
class RecoveryPolicy:
    """What to do when the server forgets the session: an immutable value.

    ``max_reinitializations`` is how many fresh sessions one request may start (the spec
    asks for a new session on HTTP 404; one attempt is enough, more would loop).
    ``treat_400_as_expired`` also recovers on an HTTP 400 whose JSON-RPC error message
    speaks of the session, as many servers answer a stale session that way.
    ``resend_interrupted_calls`` also resends a ``tools/call`` whose stream the server
    cut when it dropped the session: the tool may then run twice, so it is off unless
    your tools are idempotent. Other requests (lists, reads, gets) are always resent.
    It applies to legacy sessions: in the 2026-07-28 era the spec requires a request lost
    with its stream to be issued anew (once, tool calls included).
    """

    max_reinitializations: int = 1
    treat_400_as_expired: bool = True
    resend_interrupted_calls: bool = False

    def __post_init__(self) -> None:
        if self.max_reinitializations < 0:
            raise ValueError("max_reinitializations must be 0 or more")


_NEW, _OPEN, _CLOSED = "new", "open", "closed"


@dataclass
class _CallState:
    """What one call has been through, kept across its retries (its own thread only)."""

    # The request may have been processed: it was sent and its stream broke.
    reached: bool = False
    reissued: bool = False  # a modern request lost with its stream was issued anew
    relisted: bool = False  # tools/list was fetched again after a header mismatch
    rounds: int = 0  # input rounds answered (2026-07-28)
    extra: dict[str, Any] = field(default_factory=dict)  # the next round's inputs


@dataclass
class _TaskPage:
    tasks: list[Task]
    next_cursor: Optional[str]


# Every live client, so a forked child can reset them (gunicorn --preload, Celery).
_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _decode(cls: type[R], data: Any, method: str) -> R:
    try:
        return cls.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed result for {method}: {exc}") from None


def _root_dict(root: Union[str, Root]) -> dict[str, Any]:
    if isinstance(root, str):
        root = Root(uri=root)
    if not isinstance(root, Root):
        raise TypeError(f"a root must be a file:// URI string or a Root, not {type(root).__name__}")
    if not root.uri.startswith("file://"):
        raise ValueError(f"a root must be a file:// URI, got {root.uri!r}")
    return root.to_dict()


def _apply_elicitation_defaults(
    params: Mapping[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Fill fields the user left out with the schema's defaults (SEP-1034)."""
    if result.get("action") != "accept":
        return result
    schema = params.get("requestedSchema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return result
    content = dict(result.get("content") or {})
    for name, prop in properties.items():
        if name not in content and isinstance(prop, dict) and "default" in prop:
            content[name] = prop["default"]
    return {**result, "content": content}


class Client:
    """A blocking, thread-safe MCP client for one server.

    ``Client(url)`` talks Streamable HTTP to ``url``, in the era the server speaks
    (``client.era``: the stateless 2026-07-28 revision, or the older handshake ones).
    Use it as a context manager or call :meth:`connect` and :meth:`close`; any method
    also connects on first use.
    Many threads may share one client. ``protocol_version`` pins a version
    instead of finding the era; ``timeout`` is the default seconds a request waits (``None``:
    forever), which each progress notification restarts, up to ``max_timeout`` seconds
    in all (``None``: no cap); handlers are plain callables that answer what the server asks.
    A message from the server over ``max_message_size`` bytes (64 MiB by default; ``None``:
    no limit) raises :class:`MessageTooLarge` rather than being read into memory.
    """

    def __init__(
        self,
        url: Union[str, Sequence[str]],
        *,
        protocol_version: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        auth: Union[str, AuthBase, None] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        max_timeout: Optional[float] = DEFAULT_MAX_TIMEOUT,
        reset_timeout_on_progress: bool = True,
        connect_timeout: float = 10.0,
        client_info: Optional[Union[Implementation, Mapping[str, Any]]] = None,
        sampling_handler: Optional[SamplingHandler] = None,
        sampling_tools: bool = False,
        elicitation_handler: Optional[ElicitationHandler] = None,
        roots: Optional[RootsSpec] = None,
        logging_handler: Optional[Callable[[LoggingMessage], None]] = None,
        notification_handler: Optional[Callable[[str, dict[str, Any]], None]] = None,
        on_session_reset: Optional[Callable[[Client], None]] = None,
        recovery: RecoveryPolicy = RecoveryPolicy(),
        retry: RetryPolicy = RetryPolicy(),
        listen: bool = True,
        cache: bool = True,
        tasks: bool = True,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stderr: StderrTarget = None,
        max_input_rounds: int = DEFAULT_MAX_INPUT_ROUNDS,
        max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
        transport: Union[Transport, str, None] = None,
    ):
        if max_message_size is not None and (
            isinstance(max_message_size, bool)
            or not isinstance(max_message_size, int)
            or max_message_size < 1
        ):
            raise ValueError("max_message_size must be a positive number of bytes, or None")
        self._max_message_size = max_message_size
        if not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy")
        self._retry = retry
        # Set by close(); wakes a call that waits before a retry. Any thread.
        self._closed_event = threading.Event()
        sse = transport == "sse"
        if isinstance(transport, str) and not sse:
            raise ValueError(f'transport must be "sse" or a Transport, not {transport!r}')
        if sse:
            transport = None
            if not isinstance(url, str):
                raise ValueError('transport="sse" needs the URL of an SSE stream, not a command')
            if protocol_version in MODERN_VERSIONS:
                raise ValueError(
                    "the old HTTP+SSE transport carries only the legacy protocol versions"
                )
        stdio: Optional[StdioTransport] = None
        if isinstance(url, str):
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"url must be an http:// or https:// URL or a command list, got {url!r}"
                )
        elif transport is None:
            stdio = StdioTransport(url, env=env, cwd=cwd, stderr=stderr)
            transport = stdio
            url = "stdio:" + " ".join(stdio.command)
        assert isinstance(url, str)
        if protocol_version is not None and protocol_version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"unknown protocol_version {protocol_version!r}; mcp_sync speaks {', '.join(SUPPORTED_VERSIONS)}"
            )
        if max_input_rounds < 1:
            raise ValueError("max_input_rounds must be 1 or more")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive, or None for no timeout")
        self.url = url
        self._pinned = protocol_version
        self._requested_version = (
            protocol_version if protocol_version in LEGACY_VERSIONS else LATEST_LEGACY_VERSION
        )
        self._timeout = timeout
        self._max_timeout = max_timeout
        self._reset_on_progress = reset_timeout_on_progress
        if client_info is None:
            client_info = Implementation(name="mcp_sync", version=__version__)
        elif not isinstance(client_info, Implementation):
            client_info = Implementation.from_dict(dict(client_info))
        self._client_info = client_info
        self._sampling_handler = sampling_handler
        self._sampling_tools = sampling_tools
        self._elicitation_handler = elicitation_handler
        self._roots = roots
        if roots is not None and not callable(roots):
            [_root_dict(r) for r in roots]  # fail early on a bad root
        self._logging_handler = logging_handler
        self._notification_handler = notification_handler
        self._on_session_reset = on_session_reset
        self._recovery = recovery
        self._listen = listen
        self._connect_timeout = connect_timeout
        self._use_cache = cache
        self._use_tasks = tasks
        self._max_input_rounds = max_input_rounds
        # One connection pool for both eras' transports, closed with the client.
        self._http = new_http() if transport is None else None
        # The transport of the modern era: HTTP's own, or stdio, which carries both eras.
        self._modern: Optional[Transport] = (
            stdio if protocol_version not in LEGACY_VERSIONS and not sse else None
        )
        self._stdio = stdio
        # What it takes to fall back to the old HTTP+SSE transport later.
        self._http_options: dict[str, Any] = {
            "headers": dict(headers or {}),
            "auth": as_auth(auth) if stdio is None else None,
            "connect_timeout": connect_timeout,
        }
        if sse:
            transport = HTTPSSETransport(url, http=self._http, **self._http_options)
        if transport is None:
            credentials = as_auth(auth)
            transport = StreamableHTTPTransport(
                url,
                http=self._http,
                headers=dict(headers or {}),
                auth=credentials,
                connect_timeout=connect_timeout,
                listen=listen,
                on_listener_session_lost=self._listener_session_lost,
            )
            transport.treat_400_as_expired = recovery.treat_400_as_expired
            if protocol_version not in LEGACY_VERSIONS and not sse:
                self._modern = ModernHTTPTransport(
                    url,
                    http=self._http,
                    headers=dict(headers or {}),
                    auth=credentials,
                    connect_timeout=connect_timeout,
                )
        # The legacy transport, and the one in use: the era decides, at connect time.
        assert isinstance(transport, Transport)
        transport.max_message_size = max_message_size
        if self._modern is not None:
            self._modern.max_message_size = max_message_size
        self._legacy: Transport = transport
        self._transport: Transport = transport
        self._engine = Engine(
            transport,
            request_handler=self._answer_server_request,
            notification_handler=self._dispatch_notification,
        )
        transport.bind(self._engine.receive)
        if self._modern is not None and self._modern is not transport:
            self._modern.bind(self._engine.receive)
        if stdio is not None:
            # A server that exits fails every waiting call at once.
            stdio.on_exit = self._engine.fail_pending
        if isinstance(transport, HTTPSSETransport):
            transport.on_stream_end = self._engine.fail_pending
        # Guards _state; held only for the switch, never across I/O. Any thread.
        self._life_lock = threading.Lock()
        self._state = _NEW
        # Serialises (re)initialization so N threads that find the session gone start one;
        # held across the handshake. Caller threads and the listener take it.
        self._init_lock = threading.Lock()
        # The handshake's result and the last failed re-initialization (generation, when,
        # error): written under _init_lock, read by any thread (a reference swap).
        self._init: Optional[InitializeResult] = None
        self._failed_reinit: Optional[tuple[int, float, BaseException]] = None
        # "modern" or "legacy" once connected, and the _meta every modern request carries;
        # written under _init_lock before the state turns open, then only read.
        self._era: Optional[str] = None
        self._modern_meta: dict[str, Any] = {}
        # Each listed tool's outputSchema, to check its results by (a dict: single
        # assignments and reads are atomic; any caller thread).
        self._output_schemas: dict[str, Optional[dict[str, Any]]] = {}
        # Each listed tool's execution.taskSupport (2025-11-25); same access pattern.
        self._task_support: dict[str, str] = {}
        # Results kept per ttlMs; thread-safe on its own.
        self._cache = ResultCache()
        # The filter of the current subscriptions/listen stream: written by the listener
        # thread, read by the notify thread (a reference swap).
        self._listen_asked: dict[str, Any] = {}
        # What the last acknowledgement granted; the notify thread writes it and wakes
        # callers of subscribe_resource() waiting on _acked.
        self._acked = threading.Condition(threading.Lock())
        self._granted: dict[str, Any] = {}
        self._acks = 0  # how many acknowledgements arrived; guarded by _acked
        # What a new session must restore: guarded by _restore_lock; caller threads touch it.
        self._restore_lock = threading.Lock()
        self._subscriptions: dict[str, None] = {}
        self._log_level: Optional[str] = None
        # Immutable once built; tenacity keeps per-call state in thread-locals, so all
        # caller threads share it.
        self._retrying = Retrying(
            retry=retry_if_exception_type(SessionLost),
            stop=stop_after_attempt(recovery.max_reinitializations + 1),
            wait=wait_none(),
            reraise=True,
            before_sleep=self._before_resend,
        )
        _clients.add(self)

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stderr: StderrTarget = None,
        **options: Any,
    ) -> Client:
        """A client of a server started as ``command args...``, over its stdin and stdout.

        ``env`` adds to a safe allow-list of this process's variables; ``stderr`` is where
        the server's stderr lines go (the ``mcp_sync.stderr`` logger by default, or a
        callable taking each line, or a text file). Other options are as for the constructor.
        """
        return cls([command, *args], env=env, cwd=cwd, stderr=stderr, **options)

    @classmethod
    def from_config(
        cls,
        source: Union[str, os.PathLike[str], Mapping[str, Any]],
        name: str,
        **options: Any,
    ) -> Client:
        """A client of the server called ``name`` in an ``mcpServers`` config file (or dict).

        Reads the format of Claude Desktop, Cursor and VS Code: ``command``/``args``/
        ``env``/``cwd`` for a stdio server, ``url``/``headers`` for a remote one, with
        ``${VAR}`` taken from the environment. Raises :class:`~mcp_sync.ConfigError`
        naming the server and the key at fault. Other options are as for the constructor.
        """
        config = load_server_config(source, name)
        if config.transport == "stdio":
            assert config.command is not None
            env = {**config.env, **dict(options.pop("env", None) or {})}
            options.setdefault("cwd", config.cwd)
            return cls([config.command, *config.args], env=env, **options)
        assert config.url is not None
        headers = {**config.headers, **dict(options.pop("headers", None) or {})}
        if config.transport == "sse":
            options.setdefault("transport", "sse")
        return cls(config.url, headers=headers, **options)

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._stdio is not None else safe_url(self.url)
        return f"<mcp_sync.Client {where} {self._state}>"

    @property
    def state(self) -> str:
        """``"new"``, ``"open"`` or ``"closed"``."""
        return self._state

    def connect(self) -> Client:
        """Run the handshake if it has not run yet; returns the client. Idempotent."""
        if self._state == _OPEN:
            return self
        with self._init_lock:
            if self._state == _CLOSED:
                raise ClientClosedError("the client is closed; create a new Client")
            if self._state == _NEW:
                try:
                    # Its retries wait no longer than one request may.
                    timeout = self._timeout
                    deadline = None if timeout is None else time.monotonic() + timeout
                    self._retrying_transient("connect", deadline, None, self._start)
                except BaseException:
                    if self._stdio is not None:
                        self._stdio.stop()  # no orphan server; a later connect() starts anew
                    raise
                with self._life_lock:
                    if self._state == _CLOSED:
                        raise ClientClosedError("the client was closed while it connected")
                    self._state = _OPEN
        return self

    def close(self) -> None:
        """End the session (DELETE), stop the listener and handler threads. Idempotent.

        A call still waiting, or a ``connect()`` under way, fails with
        :class:`~mcp_sync.ClientClosedError`.
        """
        with self._life_lock:
            if self._state == _CLOSED:
                return
            self._state = _CLOSED
        self._closed_event.set()
        self._engine.close(join=False)
        self._legacy.close()
        if self._modern is not None and self._modern is not self._legacy:
            self._modern.close()
        # Handler threads blocked on a transport are free now that it is closed.
        self._engine.join()
        if self._http is not None:
            self._http.close()
        _clients.discard(self)

    def _ensure_open(self) -> None:
        if self._state != _OPEN:
            if self._state == _CLOSED:
                raise ClientClosedError("the client is closed; create a new Client")
            self.connect()

    # --- handshake and recovery -----------------------------------------------------------

    @property
    def era(self) -> str:
        """``"modern"`` (2026-07-28 and later) or ``"legacy"`` (the handshake revisions)."""
        self._ensure_open()
        assert self._era is not None
        return self._era

    def _use(self, transport: Transport, era: str) -> None:
        self._transport = transport
        self._engine.transport = transport
        self._era = era

    def _start(self) -> None:
        """Find the server's era as the spec says, and connect in it; holds ``_init_lock``."""
        pinned = self._pinned
        if self._stdio is not None:
            self._stdio.start()
        # stdio: the era belongs to this one server process, so it is not shared.
        origin = _origin(self.url) if self._stdio is None else ""
        with _era_lock:
            known = _era_cache.get(origin) if origin else None
        if known == "sse" and isinstance(self._legacy, StreamableHTTPTransport):
            streamable = self._legacy
            self._switch_to_sse()
            streamable.close()
        if self._modern is None or pinned in LEGACY_VERSIONS or known in ("legacy", "sse"):
            self._start_legacy(origin)
            return
        try:
            self._discover(pinned or LATEST_VERSION, probing=pinned is None)
        except _NotModern as why:
            log.info("mcp_sync: %s speaks the legacy protocol (%s)", origin, why)
            if why.certain and origin:
                with _era_lock:
                    _era_cache[origin] = "legacy"
            self._start_legacy(origin)
            return
        if origin:
            with _era_lock:
                _era_cache[origin] = "modern"

    def _start_legacy(self, origin: str) -> None:
        """The handshake, over Streamable HTTP or, as the spec's fallback, HTTP+SSE."""
        self._use(self._legacy, "legacy")
        try:
            self._initialize()
        except HTTPStatusError as exc:
            # The spec's fallback to the 2024-11-05 transport: the POST was refused.
            streamable = self._legacy
            if exc.status not in (400, 404, 405) or not isinstance(
                streamable, StreamableHTTPTransport
            ):
                raise
            log.info(
                "mcp_sync: %s refused Streamable HTTP (%s); trying HTTP+SSE", origin, exc.status
            )
            self._switch_to_sse()
            try:
                self._initialize()
            except MCPSyncError:
                # No SSE server either: keep Streamable HTTP, and report its refusal.
                self._legacy.close()
                self._legacy = streamable
                self._use(streamable, "legacy")
                raise exc from None
            streamable.close()
            if origin:
                with _era_lock:
                    _era_cache[origin] = "sse"

    def _switch_to_sse(self) -> None:
        sse = HTTPSSETransport(self.url, http=self._http, **self._http_options)
        sse.max_message_size = self._max_message_size
        sse.bind(self._engine.receive)
        sse.on_stream_end = self._engine.fail_pending
        self._legacy = sse
        self._use(sse, "legacy")

    def _discover(self, version: str, probing: bool, retried: bool = False) -> None:
        """``server/discover`` in the modern era; raises :class:`_NotModern` to fall back."""
        modern = self._modern
        assert modern is not None
        self._use(modern, "modern")
        if isinstance(modern, ModernHTTPTransport):
            modern.set_protocol_version(version)
        meta = {
            _META + "protocolVersion": version,
            _META + "clientCapabilities": self._capabilities(version),
            _META + "clientInfo": self._client_info.to_dict(),
        }
        timeout = self._timeout if not probing else min(self._timeout or 10.0, 10.0)
        try:
            raw = self._engine.request("server/discover", {"_meta": meta}, timeout=timeout)
        except MCPError as exc:
            if exc.code == _UNSUPPORTED_VERSION:
                data = exc.data if isinstance(exc.data, dict) else {}
                offered = data.get("supported")
                offered = offered if isinstance(offered, list) else []
                mutual = [v for v in MODERN_VERSIONS if v in offered]
                if mutual and not retried:
                    self._discover(mutual[0], probing, retried=True)
                    return
                if any(v in LEGACY_VERSIONS for v in offered) and self._pinned is None:
                    raise _NotModern("it supports only legacy versions") from None
                raise UnsupportedProtocolVersion(offered or version, SUPPORTED_VERSIONS) from None
            if exc.code in _MODERN_ERRORS or not probing:
                raise
            raise _NotModern(f"server/discover answered error {exc.code}") from None
        except HTTPStatusError as exc:
            # The spec's fallback: a 400, 404 or 405 without a modern error body. Other
            # statuses (401, 403, 5xx) say nothing about the era and are raised.
            if not probing or exc.status not in (400, 404, 405):
                raise
            raise _NotModern(f"HTTP {exc.status}") from None
        except ProtocolError as exc:
            if not probing:
                raise
            raise _NotModern(f"no modern answer ({exc})") from None
        except RequestTimeout:
            if not probing:
                raise
            raise _NotModern("server/discover timed out", certain=False) from None
        versions = raw.get("supportedVersions") if isinstance(raw, dict) else None
        if not isinstance(versions, list) or version not in versions:
            mutual = [v for v in MODERN_VERSIONS if isinstance(versions, list) and v in versions]
            if mutual and not retried:
                self._discover(mutual[0], probing, retried=True)
                return
            if probing:
                raise _NotModern("server/discover named no version mcp_sync speaks")
            raise ProtocolError("the server/discover result does not list the pinned version")
        assert isinstance(raw, dict)
        self._init = self._discovered(raw, version)
        self._modern_meta = meta
        self._cache.put(cache_key("server/discover", None), "server/discover", raw)
        self._start_modern_listener(wait=True)

    @staticmethod
    def _discovered(raw: dict[str, Any], version: str) -> InitializeResult:
        """The discover result in the shape the properties share with the handshake's."""
        meta = raw.get("_meta")
        info = (
            (meta.get(_META + "serverInfo") if isinstance(meta, dict) else None)
            or raw.get("serverInfo")
            or {}
        )
        try:
            server_info = Implementation.from_dict(info)
        except (TypeError, ValueError):
            server_info = Implementation(name="", version="")
        caps = raw.get("capabilities")
        return InitializeResult(
            protocol_version=version,
            capabilities=_decode(
                ServerCapabilities, caps if isinstance(caps, dict) else {}, "server/discover"
            ),
            server_info=server_info,
            instructions=raw.get("instructions")
            if isinstance(raw.get("instructions"), str)
            else None,
            extra={"supportedVersions": raw.get("supportedVersions")},
        )

    def _capabilities(self, version: str) -> dict[str, Any]:
        """What this client declares, in the shape of the ``version`` it offers."""
        caps: dict[str, Any] = {}
        if self._roots is not None:
            # 2026-07-28 dropped roots/list_changed, and with it listChanged.
            caps["roots"] = {} if version in MODERN_VERSIONS else {"listChanged": True}
        if self._sampling_handler is not None:
            caps["sampling"] = (
                {"tools": {}} if self._sampling_tools and version >= "2025-11-25" else {}
            )
        if self._elicitation_handler is not None and version >= "2025-06-18":
            # 2025-11-25 names the modes; an empty object meant form mode before.
            caps["elicitation"] = {"form": {}} if version >= "2025-11-25" else {}
        if self._use_tasks and version in MODERN_VERSIONS:
            caps["extensions"] = {TASKS_EXTENSION: {}}
        return caps

    def _initialize(self, version: Optional[str] = None, timeout: Any = _UNSET) -> None:
        """The handshake; the caller holds ``_init_lock``. ``timeout`` bounds each of its
        requests (the client's timeout by default)."""
        self._transport.begin_session()
        try:
            self._handshake(version, self._timeout if timeout is _UNSET else timeout)
        except BaseException:
            self._transport.session_failed()
            raise
        self._transport.session_opened()

    def _handshake(self, version: Optional[str], timeout: Optional[float]) -> None:
        offered = version or self._requested_version
        params = {
            "protocolVersion": offered,
            "capabilities": self._capabilities(offered),
            "clientInfo": self._client_info.to_dict(),
        }
        try:
            raw = self._engine.request("initialize", params, timeout=timeout)
        except MCPError as exc:
            supported = exc.data.get("supported") if isinstance(exc.data, dict) else None
            if not isinstance(supported, list):
                supported = []
            mutual = [v for v in LEGACY_VERSIONS if v in supported]
            if version is None and exc.code == jsonrpc.INVALID_PARAMS and mutual:
                self._handshake(mutual[0], timeout)
                return
            raise
        result = _decode(InitializeResult, raw, "initialize")
        declared: Any = result.capabilities
        if declared is None:  # "capabilities": null declares nothing
            result.capabilities = ServerCapabilities()
        if not isinstance(result.server_info, Implementation):
            raise ProtocolError("the initialize result has no serverInfo")
        if result.protocol_version not in LEGACY_VERSIONS:
            self._transport.end_session()
            raise UnsupportedProtocolVersion(result.protocol_version, LEGACY_VERSIONS)
        self._transport.allow_batch = result.protocol_version == "2025-03-26"
        self._init = result
        self._transport.session_negotiated(result.protocol_version)
        self._engine.notify("notifications/initialized", None, timeout=timeout)

    def _before_resend(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, SessionLost):
            self._reinitialize(exc.generation, exc.rule, retry_state.kwargs.get("deadline"))

    def _reinitialize(self, generation: int, rule: str, deadline: Optional[float] = None) -> None:
        """Start a new session unless another thread already replaced ``generation``."""
        waited_from = time.monotonic()
        wait = -1.0 if deadline is None else max(deadline - waited_from, 0.0)
        if not self._init_lock.acquire(timeout=wait):
            raise RequestTimeout("initialize", round(time.monotonic() - waited_from, 3))
        try:
            if self._state == _CLOSED:
                raise ClientClosedError("the client is closed")
            if self._transport.generation != generation:
                return  # another thread already started a new session
            failed = self._failed_reinit
            if failed is not None and failed[0] == generation and failed[1] >= waited_from:
                # Another thread just tried while this one waited: don't queue up retries.
                raise SessionExpiredError(
                    f"the session was lost and starting a new one failed: {failed[2]}"
                ) from failed[2]
            log.warning("mcp_sync: the server forgot the session (%s); starting a new one", rule)
            # The new session counts against the call that found the old one gone.
            timeout = self._timeout
            left = None if deadline is None else max(round(deadline - time.monotonic(), 3), 0.001)
            cut_short = left is not None and (timeout is None or left < timeout)
            if cut_short:
                timeout = left
            try:
                self._initialize(timeout=timeout)
            except RequestTimeout as exc:
                if not cut_short:
                    self._failed_reinit = (generation, time.monotonic(), exc)
                raise  # when cut short, only this call ran out: others may try again
            except Exception as exc:
                self._failed_reinit = (generation, time.monotonic(), exc)
                raise
            self._failed_reinit = None
        finally:
            self._init_lock.release()
        self._restore()
        if self._on_session_reset is not None:
            try:
                self._on_session_reset(self)
            except Exception:
                log.exception("error in on_session_reset")

    def _listen_filter(self) -> dict[str, Any]:
        """What to ask ``subscriptions/listen`` for: what handlers and subscriptions want."""
        caps = self._caps()
        wanted: dict[str, Any] = {}
        interested = self._notification_handler is not None or self._use_cache
        for kind, flag in (
            ("tools", "toolsListChanged"),
            ("prompts", "promptsListChanged"),
            ("resources", "resourcesListChanged"),
        ):
            declared = getattr(caps, kind)
            if interested and isinstance(declared, dict) and declared.get("listChanged"):
                wanted[flag] = True
        with self._restore_lock:
            uris = list(self._subscriptions)
        if uris:
            wanted["resourceSubscriptions"] = uris
        return wanted

    def _start_modern_listener(self, wait: bool = False) -> None:
        """Open (or reopen, with a new filter) the ``subscriptions/listen`` stream."""
        modern = self._modern
        if not self._listen or not isinstance(modern, ModernHTTPTransport):
            return  # subscriptions/listen runs over HTTP; stdio does not listen yet
        if not self._listen_filter() and not modern.listening:
            return  # nothing to listen for, and no stream to close
        with self._acked:
            acks = self._acks

        def build() -> Optional[dict[str, Any]]:
            if self._state == _CLOSED:
                return None
            wanted = self._listen_filter()
            if not wanted:
                return None
            self._listen_asked = wanted
            params = {"_meta": dict(self._modern_meta), "notifications": wanted}
            return jsonrpc.request(self._engine.next_id(), "subscriptions/listen", params)

        def refused() -> None:
            with self._acked:  # nothing will be acknowledged: stop anyone waiting for it
                self._acks += 1
                self._acked.notify_all()

        modern.listen(build, refused)
        if wait and self._listen_filter():
            # Notifications sent before the server acknowledges the stream are lost, so
            # connecting returns once it has (or after a bounded wait).
            with self._acked:
                self._acked.wait_for(lambda: self._acks > acks, self._connect_timeout)

    def _await_grant(self, uri: str, acks: int) -> None:
        """Return once the stream's new acknowledgement came, so no update is missed."""
        if not self._listen or threading.current_thread().name.startswith("mcp_sync-notify"):
            return  # nothing will acknowledge it, or this thread is the one that would deliver it
        with self._acked:
            arrived = self._acked.wait_for(lambda: self._acks > acks, self._timeout or 30.0)
            uris = self._granted.get("resourceSubscriptions")
        if not arrived:
            log.warning("mcp_sync: no acknowledgement of the subscription to %s arrived", uri)
        elif not (isinstance(uris, list) and uri in uris):
            log.warning("mcp_sync: the server did not grant the subscription to %s", uri)

    def _check_acknowledgement(self, params: dict[str, Any]) -> None:
        """Compare what ``subscriptions/listen`` granted with what was asked; warn on a gap."""
        granted = params.get("notifications")
        if not isinstance(granted, dict):
            log.warning("mcp_sync: the listen acknowledgement did not say what it grants")
            return
        with self._acked:
            self._granted = granted
            self._acks += 1
            self._acked.notify_all()
        missing = [k for k, v in self._listen_asked.items() if v is True and not granted.get(k)]
        uris = granted.get("resourceSubscriptions")
        uris = uris if isinstance(uris, list) else []
        missing += [u for u in self._listen_asked.get("resourceSubscriptions", []) if u not in uris]
        if missing:
            log.warning("mcp_sync: the server did not grant: %s", ", ".join(map(str, missing)))

    def _restore(self) -> None:
        with self._restore_lock:
            uris = list(self._subscriptions)
            level = self._log_level
        caps = self._caps()
        if uris and not (isinstance(caps.resources, dict) and caps.resources.get("subscribe")):
            log.warning(
                "mcp_sync: the new session offers no resource subscriptions; %d dropped", len(uris)
            )
            uris = []
        if level is not None and caps.logging is None:
            log.warning("mcp_sync: the new session offers no logging level; not restored")
            level = None
        for uri in uris:
            try:
                self._engine.request("resources/subscribe", {"uri": uri}, timeout=self._timeout)
            except Exception as exc:
                log.warning("mcp_sync: could not renew the subscription to %s: %s", uri, exc)
        if level is not None:
            try:
                self._engine.request("logging/setLevel", {"level": level}, timeout=self._timeout)
            except Exception as exc:
                log.warning("mcp_sync: could not restore the logging level: %s", exc)

    def _listener_session_lost(self, generation: int) -> None:
        """The GET stream got 404: confirm with a ping on the same session before acting."""
        # The state may still be "new": the listener's first GET races connect()'s return.
        if self._state == _CLOSED or self._transport.generation != generation:
            return
        try:
            self._engine.request("ping", None, timeout=self._timeout)
        except SessionLost as exc:
            try:
                self._reinitialize(
                    exc.generation, "the GET stream and a ping both found the session gone"
                )
            except Exception as err:
                log.warning("mcp_sync: could not start a new session: %s", err)
        except Exception as exc:
            log.debug("the ping confirming the session failed: %s", exc)
        else:
            log.info("mcp_sync: the server has no GET stream for this session; not listening")

    def _reset_after_fork(self) -> None:
        self._life_lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._restore_lock = threading.Lock()
        self._acked = threading.Condition(threading.Lock())
        self._engine.reset_after_fork()
        # The parent's sockets stay the parent's: the child gets a pool of its own.
        self._http = new_http() if self._http is not None else None
        self._legacy.reset_after_fork(self._http)
        if self._modern is not None and self._modern is not self._legacy:
            self._modern.reset_after_fork(self._http)

    # --- what the server asks of us -------------------------------------------------------

    def _answer_server_request(self, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "roots/list" and self._roots is not None:
            roots = self._roots() if callable(self._roots) else self._roots
            return {"roots": [_root_dict(r) for r in roots]}
        if method == "sampling/createMessage" and self._sampling_handler is not None:
            if not self._sampling_tools and ("tools" in params or "toolChoice" in params):
                raise MCPError(jsonrpc.INVALID_PARAMS, "this client did not declare sampling.tools")
            return _wire(self._sampling_handler(params))
        if method == "elicitation/create" and self._elicitation_handler is not None:
            mode = params.get("mode", "form")
            if mode != "form":
                raise MCPError(
                    jsonrpc.INVALID_PARAMS, f"elicitation mode {mode!r} was not declared"
                )
            return _apply_elicitation_defaults(params, _wire(self._elicitation_handler(params)))
        raise MCPError(jsonrpc.METHOD_NOT_FOUND, f"method not found: {method}")

    def _dispatch_notification(self, method: str, params: dict[str, Any]) -> None:
        self._cache.invalidate(method, params)
        if method == "notifications/subscriptions/acknowledged":
            self._check_acknowledgement(params)
            return
        if method == "notifications/message":
            try:
                message = LoggingMessage.from_dict(params)
            except (TypeError, ValueError):
                log.warning("mcp_sync: dropping a malformed log message from the server")
                return
            if self._logging_handler is not None:
                self._logging_handler(message)
            else:
                server_log.log(_PY_LEVELS.get(message.level, logging.INFO), "%s", message.data)
            return
        if self._notification_handler is not None:
            self._notification_handler(method, params)

    # --- sending --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        params: Optional[dict[str, Any]] = None,
        *,
        timeout: Any = _UNSET,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> Any:
        self._ensure_open()
        if timeout is _UNSET:
            timeout = self._timeout
        # One deadline for the whole call: recovery, resends and retries included.
        deadline = None if timeout is None else time.monotonic() + timeout
        state = _CallState()

        def once() -> Any:
            if self._era == "modern":
                return self._modern_call(method, params, deadline, timeout, progress, cancel, state)
            try:
                return self._retrying(
                    self._attempt,
                    method,
                    params,
                    deadline=deadline,
                    timeout=timeout,
                    progress=progress,
                    cancel=cancel,
                    state=state,
                )
            except SessionLost as exc:  # the new session was lost too: say so plainly
                raise SessionExpiredError(
                    f"{exc} again after starting a new one",
                    status=exc.status,
                    body_excerpt=exc.body_excerpt,
                ) from exc

        try:
            return self._retrying_transient(method, deadline, cancel, once, state)
        except StreamBroken as exc:  # the transports' own word for it stays inside
            raise TransportError(str(exc)) from exc

    def _retrying_transient(
        self,
        method: str,
        deadline: Optional[float],
        cancel: Optional[CancelToken],
        attempt: Callable[[], Any],
        state: Optional[_CallState] = None,
    ) -> Any:
        """``attempt()``, again after transient failures as the client's RetryPolicy says."""
        retries = 0
        while True:
            try:
                return attempt()
            except MCPSyncError as exc:
                if self._stdio is not None or self._state == _CLOSED:
                    raise  # a dead stdio server does not come back by itself
                if (
                    state is not None
                    and state.reached
                    and method == "tools/call"
                    and not self._retry.retry_tool_calls
                ):
                    raise  # an attempt may have run the tool: never again on our own
                retries += 1
                wait = self._retry.delay(retries, exc, method)
                if wait is None:
                    raise
                if deadline is not None and time.monotonic() + wait >= deadline:
                    raise  # the wait alone would use up the call's time
                log.info(
                    "mcp_sync: %s failed (%s); retry %d of %d in %.2f s",
                    method,
                    exc,
                    retries,
                    self._retry.max_retries,
                    wait,
                )
                self._pause_before_retry(wait, method, cancel)

    def _pause_before_retry(
        self, seconds: float, method: str, cancel: Optional[CancelToken]
    ) -> None:
        until = time.monotonic() + seconds
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            if cancel is not None:
                cancel._pause(min(left, 0.1))  # wakes at once on cancel
                if cancel.cancelled:
                    raise RequestCancelled(method, cancel.reason)
            elif self._closed_event.wait(left):
                raise ClientClosedError("the client was closed")
            if self._closed_event.is_set():
                raise ClientClosedError("the client was closed")

    def _attempt(
        self,
        method: str,
        params: Optional[dict[str, Any]],
        *,
        deadline: Optional[float],
        timeout: Optional[float],
        progress: Optional[ProgressCallback],
        cancel: Optional[CancelToken],
        state: _CallState,
    ) -> Any:
        try:
            return self._request_by(deadline, timeout, method, params, progress, cancel)
        except StreamBroken as exc:
            state.reached = True
            # A stream cut before its answer may mean the server dropped the session
            # (a DELETE by someone else, a restart); a ping on that session tells.
            may_have_run = method == "tools/call" and not self._recovery.resend_interrupted_calls
            left = None if deadline is None else deadline - time.monotonic()
            if not may_have_run and self._session_gone(exc.generation, left):
                raise SessionLost(
                    exc.generation, "a stream ended unanswered and the session is gone"
                ) from exc
            raise

    def _request_by(
        self,
        deadline: Optional[float],
        timeout: Optional[float],
        method: str,
        params: Optional[dict[str, Any]],
        progress: Optional[ProgressCallback],
        cancel: Optional[CancelToken],
    ) -> Any:
        """One engine request in the time left before ``deadline``; a timeout names ``timeout``."""
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise RequestTimeout(method, timeout or 0.0)
        try:
            return self._engine.request(
                method,
                params,
                timeout=left,
                max_timeout=self._max_timeout,
                progress=progress,
                reset_on_progress=self._reset_on_progress,
                cancel=cancel,
            )
        except RequestTimeout as exc:
            if exc.timeout == left and timeout is not None:
                raise RequestTimeout(method, timeout) from None  # the user's figure
            raise

    def _modern_call(
        self,
        method: str,
        params: Optional[dict[str, Any]],
        deadline: Optional[float],
        timeout: Optional[float],
        progress: Optional[ProgressCallback],
        cancel: Optional[CancelToken],
        state: _CallState,
    ) -> Any:
        """One modern request: ``_meta`` on it, input rounds answered, lost streams re-issued.

        ``state`` carries the rounds, the re-issue and the re-list over the call's retries,
        so none of them happens twice.
        """
        base = dict(params or {})
        meta = dict(self._modern_meta)
        if self._log_level is not None:
            meta[_META + "logLevel"] = self._log_level
        meta.update(base.get("_meta") or {})
        base["_meta"] = meta
        while True:
            try:
                raw = self._request_by(
                    deadline, timeout, method, {**base, **state.extra}, progress, cancel
                )
            except StreamBroken:
                # The request was lost with its stream; the spec says to issue it anew.
                state.reached = True
                if state.reissued:
                    raise
                state.reissued = True
                continue
            except MCPError as exc:
                if exc.code == _HEADER_MISMATCH and method == "tools/call" and not state.relisted:
                    # The tool's x-mcp-header parameters may have changed: re-list, retry once.
                    state.relisted = True
                    self._cache.invalidate("notifications/tools/list_changed")
                    self.list_tools()
                    continue
                raise
            if not isinstance(raw, dict):
                raise ProtocolError(f"the result of {method} is not an object")
            kind = raw.get("resultType", "complete")
            if kind == "complete":
                if state.rounds:  # an answer shaped by input is never cached
                    raw = {k: v for k, v in raw.items() if k not in ("ttlMs", "cacheScope")}
                return raw
            if kind == "task" and method == "tools/call" and self._use_tasks:
                return raw  # a task (the tasks extension): call_tool waits on it
            if kind != "input_required":
                raise ProtocolError(
                    f"the server answered {method} with unknown resultType {kind!r}"
                )
            if method not in _INPUT_METHODS:
                raise ProtocolError(f"the server asked for input on {method}, which cannot take it")
            state.rounds += 1
            if state.rounds > self._max_input_rounds:
                raise ProtocolError(
                    f"{method} still asked for input after {self._max_input_rounds} rounds; giving up"
                )
            state.extra = {}
            requests = raw.get("inputRequests")
            if requests is not None:
                state.extra["inputResponses"] = self._gather_inputs(requests)
            if "requestState" in raw:
                state.extra["requestState"] = raw["requestState"]  # echoed exactly as received

    def _gather_inputs(self, requests: Any) -> dict[str, Any]:
        """Answer each input request of an ``input_required`` result through the handlers."""
        if not isinstance(requests, dict):
            raise ProtocolError("inputRequests must be an object")
        answers: dict[str, Any] = {}
        for key, request in requests.items():
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise ProtocolError(f"input request {key!r} is not a request object")
            method = request["method"]
            params = request.get("params")
            if params is not None and not isinstance(params, dict):
                raise ProtocolError(f"input request {key!r} has params that are not an object")
            try:
                answers[key] = self._answer_server_request(method, params or {})
            except MCPError as exc:
                capability = _INPUT_CAPABILITIES.get(method)
                if exc.code == jsonrpc.METHOD_NOT_FOUND and capability is not None:
                    raise MissingHandlerError(capability, method) from None
                raise ProtocolError(
                    f"the server asked for {method}, which cannot be given: {exc.message}"
                ) from None
        return answers

    def _session_gone(self, generation: int, timeout: Optional[float]) -> bool:
        if self._transport.generation != generation:
            return True
        try:
            self._engine.request("ping", None, timeout=timeout)
        except SessionLost:
            return True
        except Exception:
            return False
        # The ping may have waited for another thread's new session and gone out on it.
        return self._transport.generation != generation

    def request(
        self,
        method: str,
        params: Optional[dict[str, Any]] = None,
        *,
        timeout: Any = _UNSET,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> Any:
        """Send any request and return its raw ``result``; no capability check is made.

        Raises :class:`~mcp_sync.MCPError` when the server answers with an error.
        """
        return self._call(method, params, timeout=timeout, progress=progress, cancel=cancel)

    def notify(self, method: str, params: Optional[dict[str, Any]] = None) -> None:
        """Send any notification."""
        self._ensure_open()
        self._retrying(self._engine.notify, method, params, timeout=self._timeout)

    def _require(self, capability: str, method: str, sub: Optional[str] = None) -> None:
        caps = self._caps()
        value = (
            getattr(caps, capability, None)
            if hasattr(caps, capability)
            else caps.extra.get(capability)
        )
        if value is None or (sub is not None and not (isinstance(value, dict) and value.get(sub))):
            raise CapabilityNotSupported(
                capability if sub is None else f"{capability}.{sub}", method
            )

    def _fetch(
        self, method: str, params: Optional[dict[str, Any]], timeout: Any, cache: bool
    ) -> Any:
        """A request whose result may be cached (per its ``ttlMs``), served from the cache if fresh."""
        key = cache_key(method, params)
        if cache and self._use_cache:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        since = self._cache.generation
        raw = self._call(method, params, timeout=timeout)
        if self._use_cache:
            self._cache.put(key, method, raw, since)
        return raw

    def _pages(
        self,
        method: str,
        capability: str,
        cls: type[R],
        cursor: Optional[str],
        timeout: Any,
        cache: bool = True,
    ) -> R:
        self._ensure_open()
        self._require(capability, method)
        params = {"cursor": cursor} if cursor is not None else None
        return _decode(cls, self._fetch(method, params, timeout, cache), method)

    def _collect(self, page: Callable[[Optional[str]], Any], field: str) -> list[Any]:
        items: list[Any] = []
        seen: dict[str, None] = {}
        cursor: Optional[str] = None
        for _ in range(MAX_PAGES):
            result = page(cursor)
            items.extend(getattr(result, field))
            cursor = result.next_cursor
            if not cursor:
                return items
            if cursor in seen:
                raise ProtocolError(
                    "the server repeated a pagination cursor; stopping to avoid a loop"
                )
            seen[cursor] = None
        raise ProtocolError(f"the server kept paginating past {MAX_PAGES} pages")

    # --- properties -----------------------------------------------------------------------

    def _caps(self) -> ServerCapabilities:
        """The declared capabilities, without connecting (for use inside the handshake)."""
        init = self._init
        return init.capabilities if init is not None else ServerCapabilities()

    def _initialized(self) -> InitializeResult:
        self._ensure_open()
        assert self._init is not None
        return self._init

    @property
    def protocol_version(self) -> str:
        """The protocol version the server chose."""
        return self._initialized().protocol_version

    @property
    def server_info(self) -> Implementation:
        """The server's name and version."""
        return self._initialized().server_info

    @property
    def server_capabilities(self) -> ServerCapabilities:
        """What the server declared it supports."""
        return self._initialized().capabilities

    @property
    def instructions(self) -> Optional[str]:
        """The server's usage instructions, if it sent any."""
        return self._initialized().instructions

    @property
    def session_id(self) -> Optional[str]:
        """The session id the server issued, or None. Treat it as a secret: don't log it."""
        return self._transport.session_id

    # --- tools ----------------------------------------------------------------------------

    def list_tools_page(
        self, cursor: Optional[str] = None, *, timeout: Any = _UNSET, cache: bool = True
    ) -> ListToolsResult:
        """One page of ``tools/list``; pass the previous page's ``next_cursor`` to go on."""
        page = self._pages("tools/list", "tools", ListToolsResult, cursor, timeout, cache)
        if self._era == "modern" and isinstance(self._modern, ModernHTTPTransport):
            page.tools = self._mirrorable(page.tools, self._modern)
        for tool in page.tools:
            self._output_schemas[tool.name] = tool.output_schema
            execution = tool.extra.get("execution")
            support = execution.get("taskSupport") if isinstance(execution, dict) else None
            self._task_support[tool.name] = support if isinstance(support, str) else "forbidden"
        return page

    @staticmethod
    def _mirrorable(tools: list[Tool], modern: ModernHTTPTransport) -> list[Tool]:
        """Register each tool's ``x-mcp-header`` parameters; drop tools whose annotations are invalid."""
        kept = []
        for tool in tools:
            try:
                mapping = tool_param_headers(tool.input_schema)
            except InvalidToolHeader as exc:
                log.warning("mcp_sync: leaving out tool %r: %s", tool.name, exc)
                continue
            modern.set_tool_headers(tool.name, mapping)
            kept.append(tool)
        return kept

    def list_tools(self, *, timeout: Any = _UNSET, cache: bool = True) -> list[Tool]:
        """Every tool, following cursors to the end (a list that shows as a table in Jupyter)."""
        return ToolList(
            self._collect(lambda c: self.list_tools_page(c, timeout=timeout, cache=cache), "tools")
        )

    def call_tool(
        self,
        name: str,
        arguments: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Any = _UNSET,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> CallToolResult:
        """Call a tool. A tool's own failure is a result with ``is_error``, not an exception.

        When the tool was listed with an ``outputSchema`` and the ``jsonschema`` extra is
        installed, ``structured_content`` is checked against it
        (:class:`~mcp_sync.OutputSchemaError` on a mismatch).

        ``progress(progress, total, message)`` receives progress notifications; each one
        also restarts the timeout, up to the client's ``max_timeout``.
        """
        if not isinstance(name, str) or not name:
            raise ValueError("tool name must be a non-empty string")
        params = self._tool_params(name, arguments)
        if self._era == "legacy" and self._task_support.get(name) == "required":
            # The spec says such a tool must be called as a task; wait on it for the caller.
            handle = self.start_tool(name, arguments, timeout=timeout)
            return handle.wait(self._max_timeout, cancel=cancel, cancel_on_timeout=True)
        raw = self._call("tools/call", params, timeout=timeout, progress=progress, cancel=cancel)
        if isinstance(raw, dict) and raw.get("resultType") == "task":
            handle = ToolTask(self, name, _task(raw, "tools/call"), modern=True)
            handle._details = raw
            return handle.wait(self._max_timeout, cancel=cancel, cancel_on_timeout=True)
        return self._tool_result(name, raw)

    def _tool_params(self, name: str, arguments: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise ValueError("tool name must be a non-empty string")
        if arguments is not None and not isinstance(arguments, Mapping):
            raise TypeError(f"arguments must be a mapping, not {type(arguments).__name__}")
        self._ensure_open()
        self._require("tools", "tools/call")
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return params

    def _tool_result(self, name: str, raw: Any) -> CallToolResult:
        """Decode a tool's result and check it against the tool's outputSchema."""
        result = _decode(CallToolResult, raw, "tools/call")
        schema = self._output_schemas.get(name)
        if schema is not None and not result.is_error and result.structured_content is not None:
            validate_structured_content(name, schema, result.structured_content)
        return result

    def start_tool(
        self,
        name: str,
        arguments: Optional[Mapping[str, Any]] = None,
        *,
        ttl: Optional[float] = None,
        timeout: Any = _UNSET,
    ) -> ToolTask:
        """Start a tool as a task and return its handle, to wait on, poll or cancel.

        Legacy servers need the ``tasks.requests.tools.call`` capability (2025-11-25);
        ``ttl`` asks them to keep the task that many milliseconds. Modern servers need
        the tasks extension; one that answers at once gives a handle already completed.
        """
        params = self._tool_params(name, arguments)
        if self._era == "modern":
            declared = self._caps().extra.get("extensions")
            if not (isinstance(declared, dict) and TASKS_EXTENSION in declared):
                raise CapabilityNotSupported(f"extensions.{TASKS_EXTENSION}", "tools/call")
            raw = self._call("tools/call", params, timeout=timeout)
            if isinstance(raw, dict) and raw.get("resultType") == "task":
                handle = ToolTask(self, name, _task(raw, "tools/call"), modern=True)
                handle._details = raw
                return handle
            handle = ToolTask(self, name, Task(task_id="", status="completed"), modern=True)
            handle._details = {"result": raw}
            return handle
        tasks = self._caps().extra.get("tasks")
        requests = tasks.get("requests") if isinstance(tasks, dict) else None
        tools = requests.get("tools") if isinstance(requests, dict) else None
        if not (isinstance(tools, dict) and isinstance(tools.get("call"), dict)):
            raise CapabilityNotSupported("tasks.requests.tools.call", "tools/call")
        if self._task_support.get(name, "forbidden") == "forbidden" and name in self._task_support:
            raise ValueError(f"tool {name!r} does not run as a task (its taskSupport is forbidden)")
        params["task"] = {} if ttl is None else {"ttl": ttl}
        raw = self._call("tools/call", params, timeout=timeout)
        created = raw.get("task") if isinstance(raw, dict) else None
        return ToolTask(self, name, _task(created, "tools/call"), modern=False)

    def get_task(self, task_id: str) -> Task:
        """A task's state (``tasks/get``)."""
        return _task(self._call("tasks/get", {"taskId": task_id}), "tasks/get")

    def cancel_task(self, task_id: str) -> None:
        """Ask the server to cancel a task (``tasks/cancel``)."""
        self._call("tasks/cancel", {"taskId": task_id})

    def list_tasks(self) -> list[Task]:
        """The tasks the server keeps for this client (``tasks/list``, 2025-11-25 only)."""
        self._ensure_open()
        tasks = self._caps().extra.get("tasks")
        if self._era == "modern" or not (isinstance(tasks, dict) and "list" in tasks):
            raise CapabilityNotSupported("tasks.list", "tasks/list")

        def page(cursor: Optional[str]) -> Any:
            raw = self._call("tasks/list", {"cursor": cursor} if cursor else None)
            if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), list):
                raise ProtocolError("malformed tasks/list result")
            return _TaskPage([_task(t, "tasks/list") for t in raw["tasks"]], raw.get("nextCursor"))

        return self._collect(page, "tasks")

    # --- resources ------------------------------------------------------------------------

    def list_resources_page(
        self, cursor: Optional[str] = None, *, timeout: Any = _UNSET, cache: bool = True
    ) -> ListResourcesResult:
        """One page of ``resources/list``."""
        return self._pages(
            "resources/list", "resources", ListResourcesResult, cursor, timeout, cache
        )

    def list_resources(self, *, timeout: Any = _UNSET, cache: bool = True) -> list[Resource]:
        """Every resource, following cursors to the end."""
        return self._collect(
            lambda c: self.list_resources_page(c, timeout=timeout, cache=cache), "resources"
        )

    def list_resource_templates_page(
        self, cursor: Optional[str] = None, *, timeout: Any = _UNSET, cache: bool = True
    ) -> ListResourceTemplatesResult:
        """One page of ``resources/templates/list``."""
        return self._pages(
            "resources/templates/list",
            "resources",
            ListResourceTemplatesResult,
            cursor,
            timeout,
            cache,
        )

    def list_resource_templates(
        self, *, timeout: Any = _UNSET, cache: bool = True
    ) -> list[ResourceTemplate]:
        """Every resource template, following cursors to the end."""
        return self._collect(
            lambda c: self.list_resource_templates_page(c, timeout=timeout, cache=cache),
            "resource_templates",
        )

    def read_resource(
        self, uri: str, *, timeout: Any = _UNSET, cache: bool = True
    ) -> ReadResourceResult:
        """Read a resource by URI (from the cache while a modern server's ``ttlMs`` allows)."""
        if not isinstance(uri, str) or not uri:
            raise ValueError("uri must be a non-empty string")
        self._ensure_open()
        self._require("resources", "resources/read")
        return _decode(
            ReadResourceResult,
            self._fetch("resources/read", {"uri": uri}, timeout, cache),
            "resources/read",
        )

    def subscribe_resource(self, uri: str) -> None:
        """Ask for ``notifications/resources/updated`` about ``uri``; renewed on a new session."""
        self._ensure_open()
        self._require("resources", "resources/subscribe", "subscribe")
        if self._era == "modern":
            with self._restore_lock:
                self._subscriptions[uri] = None
            with self._acked:
                acks = self._acks
            self._start_modern_listener()  # a new listen stream carries the new filter
            self._await_grant(uri, acks)
            return
        self._call("resources/subscribe", {"uri": uri})
        with self._restore_lock:
            self._subscriptions[uri] = None

    def unsubscribe_resource(self, uri: str) -> None:
        """Stop the notifications about ``uri``."""
        self._ensure_open()
        self._require("resources", "resources/unsubscribe", "subscribe")
        with self._restore_lock:
            self._subscriptions.pop(uri, None)
        if self._era == "modern":
            self._start_modern_listener()
            return
        self._call("resources/unsubscribe", {"uri": uri})

    # --- prompts --------------------------------------------------------------------------

    def list_prompts_page(
        self, cursor: Optional[str] = None, *, timeout: Any = _UNSET, cache: bool = True
    ) -> ListPromptsResult:
        """One page of ``prompts/list``."""
        return self._pages("prompts/list", "prompts", ListPromptsResult, cursor, timeout, cache)

    def list_prompts(self, *, timeout: Any = _UNSET, cache: bool = True) -> list[Prompt]:
        """Every prompt, following cursors to the end."""
        return self._collect(
            lambda c: self.list_prompts_page(c, timeout=timeout, cache=cache), "prompts"
        )

    def get_prompt(
        self, name: str, arguments: Optional[Mapping[str, str]] = None, *, timeout: Any = _UNSET
    ) -> GetPromptResult:
        """Get a prompt, filled in with ``arguments``."""
        if not isinstance(name, str) or not name:
            raise ValueError("prompt name must be a non-empty string")
        self._ensure_open()
        self._require("prompts", "prompts/get")
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return _decode(
            GetPromptResult, self._call("prompts/get", params, timeout=timeout), "prompts/get"
        )

    # --- utilities ------------------------------------------------------------------------

    def complete(
        self,
        ref: Mapping[str, Any],
        argument: Union[Mapping[str, Any], tuple[str, str]],
        context: Optional[Mapping[str, str]] = None,
        *,
        timeout: Any = _UNSET,
    ) -> CompleteResult:
        """Ask for completions of ``argument`` (``{"name", "value"}`` or a pair).

        ``ref`` is ``{"type": "ref/prompt", "name": ...}`` or ``{"type": "ref/resource",
        "uri": ...}``; ``context`` maps the names of arguments already chosen to their values.
        """
        if isinstance(argument, tuple):
            argument = {"name": argument[0], "value": argument[1]}
        if not isinstance(ref, Mapping) or ref.get("type") not in ("ref/prompt", "ref/resource"):
            raise ValueError(
                'ref must be {"type": "ref/prompt", "name": ...} or {"type": "ref/resource", "uri": ...}'
            )
        self._ensure_open()
        self._require("completions", "completion/complete")
        params: dict[str, Any] = {"ref": dict(ref), "argument": dict(argument)}
        if context is not None:
            params["context"] = {"arguments": dict(context)}
        return _decode(
            CompleteResult,
            self._call("completion/complete", params, timeout=timeout),
            "completion/complete",
        )

    def set_logging_level(self, level: str) -> None:
        """Ask the server to send log messages at ``level`` and above; renewed on a new session."""
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}; got {level!r}")
        self._ensure_open()
        self._require("logging", "logging/setLevel")
        if self._era != "modern":  # modern requests carry the level in their _meta instead
            self._call("logging/setLevel", {"level": level})
        with self._restore_lock:
            self._log_level = level

    def ping(self, *, timeout: Any = _UNSET) -> None:
        """Check the server answers: ``ping``, or ``server/discover`` in the modern era (no ping there)."""
        self._ensure_open()
        if self._era == "modern":
            self._call("server/discover", None, timeout=timeout)
            return
        self._call("ping", None, timeout=timeout)

    def set_roots(self, roots: RootsSpec) -> None:
        """Replace the roots and tell the server they changed."""
        if self._roots is None:
            raise ClientStateError("roots can only be changed on a client created with roots=")
        if not callable(roots):
            [_root_dict(r) for r in roots]
        self._roots = roots
        if self._state == _OPEN and self._era == "legacy":  # 2026-07-28 removed it
            self.notify("notifications/roots/list_changed")


def _wire(result: Any) -> Any:
    if isinstance(result, WireType):
        return result.to_dict()
    if isinstance(result, dict):
        return result
    raise TypeError(
        f"a handler must return a result dataclass or a dict, not {type(result).__name__}"
    )
