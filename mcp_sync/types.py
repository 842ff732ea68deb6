"""Wire types: plain dataclasses with snake_case attributes.

Every type keeps the fields it does not know in ``extra``, so nothing the server
sends is lost, and ``to_dict()`` gives back the wire form (camelCase keys). Build
one from a wire dict with ``Type.from_dict(data)``. In Jupyter, tools, tool lists and
results show as HTML (see ``mcp_sync._display``), with everything the server sent escaped.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, TypeVar, Union

__all__ = [
    "AudioContent",
    "BlobResourceContents",
    "CallToolResult",
    "CompleteResult",
    "Completion",
    "ContentBlock",
    "CreateMessageResult",
    "ElicitResult",
    "EmbeddedResource",
    "GetPromptResult",
    "ImageContent",
    "Implementation",
    "InitializeResult",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListToolsResult",
    "LoggingMessage",
    "Prompt",
    "PromptArgument",
    "PromptMessage",
    "ReadResourceResult",
    "Resource",
    "ResourceContents",
    "ResourceLink",
    "ResourceTemplate",
    "Root",
    "ServerCapabilities",
    "TextContent",
    "TextResourceContents",
    "Tool",
    "ToolList",
    "UnknownContent",
    "WireType",
    "content_block_from_dict",
]

W = TypeVar("W", bound="WireType")

_CAMEL_BOUNDARY = re.compile(r"_([a-z])")

# A field's codec: (decode wire value -> python value, encode python value -> wire value).
_Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _camel(name: str) -> str:
    return _CAMEL_BOUNDARY.sub(lambda m: m.group(1).upper(), name)


def _identity(value: Any) -> Any:
    return value


def _encode_any(value: Any) -> Any:
    if isinstance(value, WireType):
        return value.to_dict()
    if isinstance(value, list):
        return [_encode_any(item) for item in value]
    return value


def wire(name: Optional[str] = None, *, of: Any = None, default: Any = None) -> Any:
    """Declare a dataclass field: ``name`` is its wire key, ``of`` the type or decoder of its value.

    ``of`` may be a :class:`WireType` subclass, a one-item list such as ``[Tool]`` for an
    array of them, or a plain callable that decodes the wire value.
    """
    metadata = {"wire": name, "of": of}
    if isinstance(default, (list, dict)):
        factory = type(default)
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _decoder_for(of: Any) -> Callable[[Any], Any]:
    if of is None:
        return _identity
    if isinstance(of, list):
        item = _decoder_for(of[0])

        def decode_list(value: Any) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {type(value).__name__}")
            return [item(v) for v in value]

        return decode_list
    if isinstance(of, type) and issubclass(of, WireType):
        return of.from_dict
    decoder: Callable[[Any], Any] = of
    return decoder


class WireType:
    """Base of the wire dataclasses: decoding from and encoding to the wire form."""

    # Built once per class on first use: (attribute, wire key, decoder) for each declared field.
    _spec: ClassVar[Optional[list[tuple[str, str, Callable[[Any], Any]]]]] = None
    _keys: ClassVar[frozenset[str]] = frozenset()
    extra: dict[str, Any]

    @classmethod
    def _fields(cls) -> list[tuple[str, str, Callable[[Any], Any]]]:
        spec = cls.__dict__.get("_spec")
        if spec is None:
            spec = []
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                if f.name == "extra":
                    continue
                key = f.metadata.get("wire") or _camel(f.name)
                spec.append((f.name, key, _decoder_for(f.metadata.get("of"))))
            # _keys first: a thread that sees _spec set must also see this class's keys.
            cls._keys = frozenset(key for _, key, _ in spec)
            cls._spec = spec
        return spec

    @classmethod
    def from_dict(cls: type[W], data: Any) -> W:
        """Build an instance from its wire form; unknown keys go to ``extra``.

        Raises :class:`TypeError` or :class:`ValueError` when ``data`` has the wrong shape.
        """
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
        spec = cls._fields()
        kwargs: dict[str, Any] = {}
        for attr, key, decode in spec:
            if key in data:
                value = data[key]
                kwargs[attr] = None if value is None else decode(value)
        keys = cls._keys
        kwargs["extra"] = {k: v for k, v in data.items() if k not in keys}
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"{cls.__name__}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form: camelCase keys, unset optional fields left out."""
        out: dict[str, Any] = dict(self.extra)
        for attr, key, _ in self._fields():
            value = getattr(self, attr)
            if value is not None:
                out[key] = _encode_any(value)
        return out


def _extra() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass
class Implementation(WireType):
    """A client or server name and version (``clientInfo`` / ``serverInfo``)."""

    name: str
    version: str
    title: Optional[str] = None
    extra: dict[str, Any] = _extra()


@dataclass
class ServerCapabilities(WireType):
    """What the server declared it supports; a feature is present when its field is not None."""

    tools: Optional[dict[str, Any]] = None
    resources: Optional[dict[str, Any]] = None
    prompts: Optional[dict[str, Any]] = None
    logging: Optional[dict[str, Any]] = None
    completions: Optional[dict[str, Any]] = None
    experimental: Optional[dict[str, Any]] = None
    extra: dict[str, Any] = _extra()


@dataclass
class InitializeResult(WireType):
    """The server's answer to ``initialize``."""

    protocol_version: str
    capabilities: ServerCapabilities = wire(of=ServerCapabilities)
    server_info: Implementation = wire(of=Implementation)
    instructions: Optional[str] = None
    extra: dict[str, Any] = _extra()


# --- content blocks -------------------------------------------------------------------------


@dataclass
class ContentBlock(WireType):
    """Base of the content block types; ``type`` names the kind of block."""

    type: str
    annotations: Optional[dict[str, Any]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    def _repr_html_(self) -> str:
        from ._display import content_html

        return content_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import content_markdown

        return content_markdown(self)


@dataclass
class TextContent(ContentBlock):
    """A text block."""

    type: str = "text"
    text: str = ""


@dataclass
class ImageContent(ContentBlock):
    """An image: base64 ``data`` and its ``mime_type``; ``raw`` gives the decoded bytes."""

    type: str = "image"
    data: str = ""
    mime_type: str = ""

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.data)


@dataclass
class AudioContent(ContentBlock):
    """Audio: base64 ``data`` and its ``mime_type``; ``raw`` gives the decoded bytes."""

    type: str = "audio"
    data: str = ""
    mime_type: str = ""

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.data)


@dataclass
class ResourceLink(ContentBlock):
    """A link to a resource the client may read."""

    type: str = "resource_link"
    uri: str = ""
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None


@dataclass
class ResourceContents(WireType):
    """The contents of a resource: ``text``, or base64 ``blob`` (decoded by ``raw``)."""

    uri: str
    mime_type: Optional[str] = None
    text: Optional[str] = None
    blob: Optional[str] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    @property
    def raw(self) -> bytes:
        """The contents as bytes: the decoded blob, or the text encoded as UTF-8."""
        if self.blob is not None:
            return base64.b64decode(self.blob)
        return (self.text or "").encode("utf-8")

    def _repr_html_(self) -> str:
        from ._display import resource_contents_html

        return resource_contents_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import resource_contents_markdown

        return resource_contents_markdown(self)


# Aliases for readers who know the schema's names.
TextResourceContents = ResourceContents
BlobResourceContents = ResourceContents


@dataclass
class EmbeddedResource(ContentBlock):
    """A resource embedded in a result."""

    type: str = "resource"
    resource: Optional[ResourceContents] = wire(of=ResourceContents)


@dataclass
class UnknownContent(ContentBlock):
    """A content block of a type mcp_sync does not know; its fields are in ``extra``."""


_CONTENT_TYPES: dict[str, type[ContentBlock]] = {
    "text": TextContent,
    "image": ImageContent,
    "audio": AudioContent,
    "resource_link": ResourceLink,
    "resource": EmbeddedResource,
}


def content_block_from_dict(data: Any) -> ContentBlock:
    """Decode one content block by its ``type``; an unknown type gives :class:`UnknownContent`."""
    if not isinstance(data, dict):
        raise TypeError(f"a content block must be a JSON object, got {type(data).__name__}")
    cls = _CONTENT_TYPES.get(data.get("type"), UnknownContent)  # type: ignore[arg-type]
    return cls.from_dict(data)


def _content_or_list(value: Any) -> Any:
    if isinstance(value, list):
        return [content_block_from_dict(v) for v in value]
    return content_block_from_dict(value)


# --- tools ----------------------------------------------------------------------------------


@dataclass
class Tool(WireType):
    """A tool the server offers. Treat ``annotations`` as untrusted hints."""

    name: str
    input_schema: dict[str, Any] = wire(default={})
    description: Optional[str] = None
    title: Optional[str] = None
    output_schema: Optional[dict[str, Any]] = None
    annotations: Optional[dict[str, Any]] = None
    icons: Optional[list[dict[str, Any]]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    @property
    def display_name(self) -> str:
        """``title``, else ``annotations.title``, else ``name``, as the spec orders them."""
        if self.title:
            return self.title
        if self.annotations and isinstance(self.annotations.get("title"), str):
            return str(self.annotations["title"])
        return self.name

    def _repr_html_(self) -> str:
        from ._display import tool_html

        return tool_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import tool_markdown

        return tool_markdown(self)


class ToolList(list[Tool]):
    """What ``Client.list_tools()`` returns: a plain list of tools that shows as a table
    in Jupyter."""

    def _repr_html_(self) -> str:
        from ._display import tools_html

        return tools_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import tools_markdown

        return tools_markdown(self)


@dataclass
class ListToolsResult(WireType):
    """One page of ``tools/list``."""

    tools: list[Tool] = wire(of=[Tool], default=[])
    next_cursor: Optional[str] = None
    extra: dict[str, Any] = _extra()

    def _repr_html_(self) -> str:
        from ._display import list_tools_result_html

        return list_tools_result_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import list_tools_result_markdown

        return list_tools_result_markdown(self)


@dataclass
class CallToolResult(WireType):
    """The result of a tool call. ``is_error`` marks a tool execution error, which is a result."""

    content: list[ContentBlock] = wire(of=[content_block_from_dict], default=[])
    structured_content: Any = None
    is_error: bool = False
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    @property
    def text(self) -> str:
        """The text blocks of ``content`` joined by newlines."""
        return "\n".join(b.text for b in self.content if isinstance(b, TextContent))

    def _repr_html_(self) -> str:
        from ._display import call_tool_result_html

        return call_tool_result_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import call_tool_result_markdown

        return call_tool_result_markdown(self)


# --- resources ------------------------------------------------------------------------------


@dataclass
class Resource(WireType):
    """A resource the server lists."""

    uri: str
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None
    annotations: Optional[dict[str, Any]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()


@dataclass
class ResourceTemplate(WireType):
    """A URI template (RFC 6570) for resources the server can read."""

    uri_template: str
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    annotations: Optional[dict[str, Any]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()


@dataclass
class ListResourcesResult(WireType):
    """One page of ``resources/list``."""

    resources: list[Resource] = wire(of=[Resource], default=[])
    next_cursor: Optional[str] = None
    extra: dict[str, Any] = _extra()


@dataclass
class ListResourceTemplatesResult(WireType):
    """One page of ``resources/templates/list``."""

    resource_templates: list[ResourceTemplate] = wire(of=[ResourceTemplate], default=[])
    next_cursor: Optional[str] = None
    extra: dict[str, Any] = _extra()


@dataclass
class ReadResourceResult(WireType):
    """The result of ``resources/read``."""

    contents: list[ResourceContents] = wire(of=[ResourceContents], default=[])
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    @property
    def text(self) -> str:
        """The text contents joined by newlines."""
        return "\n".join(c.text for c in self.contents if c.text is not None)

    def _repr_html_(self) -> str:
        from ._display import read_resource_result_html

        return read_resource_result_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import read_resource_result_markdown

        return read_resource_result_markdown(self)


# --- prompts --------------------------------------------------------------------------------


@dataclass
class PromptArgument(WireType):
    """An argument a prompt takes."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    required: Optional[bool] = None
    extra: dict[str, Any] = _extra()


@dataclass
class Prompt(WireType):
    """A prompt template the server offers."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    arguments: Optional[list[PromptArgument]] = wire(of=[PromptArgument])
    icons: Optional[list[dict[str, Any]]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()


@dataclass
class ListPromptsResult(WireType):
    """One page of ``prompts/list``."""

    prompts: list[Prompt] = wire(of=[Prompt], default=[])
    next_cursor: Optional[str] = None
    extra: dict[str, Any] = _extra()


@dataclass
class PromptMessage(WireType):
    """One message of a prompt."""

    role: str
    content: ContentBlock = wire(of=content_block_from_dict)
    extra: dict[str, Any] = _extra()

    def _repr_html_(self) -> str:
        from ._display import prompt_message_html

        return prompt_message_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import prompt_message_markdown

        return prompt_message_markdown(self)


@dataclass
class GetPromptResult(WireType):
    """The result of ``prompts/get``."""

    messages: list[PromptMessage] = wire(of=[PromptMessage], default=[])
    description: Optional[str] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()

    def _repr_html_(self) -> str:
        from ._display import get_prompt_result_html

        return get_prompt_result_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import get_prompt_result_markdown

        return get_prompt_result_markdown(self)


# --- completion and logging -----------------------------------------------------------------


@dataclass
class Completion(WireType):
    """Completion values for one argument."""

    values: list[str] = wire(default=[])
    total: Optional[int] = None
    has_more: Optional[bool] = None
    extra: dict[str, Any] = _extra()


@dataclass
class CompleteResult(WireType):
    """The result of ``completion/complete``."""

    completion: Completion = wire(of=Completion)
    extra: dict[str, Any] = _extra()

    @property
    def values(self) -> list[str]:
        return self.completion.values


@dataclass
class LoggingMessage(WireType):
    """A log message the server sent (``notifications/message``)."""

    level: str
    data: Any = None
    logger: Optional[str] = None
    extra: dict[str, Any] = _extra()


# --- client features ------------------------------------------------------------------------


@dataclass
class Root(WireType):
    """A root the client exposes to the server: a ``file://`` URI and an optional name."""

    uri: str
    name: Optional[str] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()


@dataclass
class CreateMessageResult(WireType):
    """What a sampling handler returns: the model's message."""

    content: Union[ContentBlock, list[ContentBlock]] = wire(of=_content_or_list)
    model: str = ""
    role: str = "assistant"
    stop_reason: Optional[str] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()


@dataclass
class ElicitResult(WireType):
    """What an elicitation handler returns: ``accept`` (with ``content``), ``decline`` or ``cancel``."""

    action: str
    content: Optional[dict[str, Any]] = None
    meta: Optional[dict[str, Any]] = wire("_meta")
    extra: dict[str, Any] = _extra()
