"""Reading server entries from an ``mcpServers`` JSON config."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mcp_sync.config import ConfigError, ServerConfig, list_servers, load_server_config
from mcp_sync.errors import MCPSyncError

ENVIRON = {"HOME_DIR": "/home/u", "TOKEN": "s3cret", "BASE": "https://example.com", "EMPTY": ""}


def write(tmp_path: Path, data: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def load(entry: Any, name: str = "s", **environ: str) -> ServerConfig:
    return load_server_config({"mcpServers": {name: entry}}, name, environ=environ or ENVIRON)


def error(entry: Any, name: str = "s") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(entry, name)
    return info.value


# --- entries -------------------------------------------------------------------------------


def test_stdio_entry_is_read_from_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mcpServers": {
                "files": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                    "env": {"DEBUG": "1"},
                    "cwd": "/srv",
                }
            }
        },
    )
    config = load_server_config(path, "files", environ={})
    assert config == ServerConfig(
        name="files",
        transport="stdio",
        command="npx",
        args=("-y", "@modelcontextprotocol/server-filesystem", "/tmp"),
        env={"DEBUG": "1"},
        cwd="/srv",
    )


def test_http_entry_is_read_from_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mcpServers": {
                "remote": {
                    "url": "https://example.com/mcp",
                    "headers": {"Authorization": "Bearer ${TOKEN}"},
                    "type": "http",
                }
            }
        },
    )
    config = load_server_config(path, "remote", environ={"TOKEN": "abc"})
    assert config == ServerConfig(
        name="remote",
        transport="http",
        url="https://example.com/mcp",
        headers={"Authorization": "Bearer abc"},
    )


def test_path_may_be_given_as_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"a": {"command": "run"}}})
    assert load_server_config(str(path), "a").command == "run"


def test_reading_from_a_dict() -> None:
    config = load_server_config({"mcpServers": {"a": {"command": "run", "args": ["x"]}}}, "a")
    assert (config.transport, config.command, config.args) == ("stdio", "run", ("x",))


def test_command_without_type_means_stdio() -> None:
    assert load({"command": "run"}).transport == "stdio"


def test_url_without_type_means_http() -> None:
    assert load({"url": "http://localhost:8000/mcp"}).transport == "http"


def test_sse_via_type_hint() -> None:
    config = load({"type": "sse", "url": "https://example.com/sse"})
    assert (config.transport, config.url) == ("sse", "https://example.com/sse")


def test_transport_hint_is_read_like_type() -> None:
    assert load({"transport": "sse", "url": "https://example.com/sse"}).transport == "sse"


@pytest.mark.parametrize(
    "hint", ["http", "streamable-http", "streamableHttp", "streamable_http", "HTTP"]
)
def test_streamable_http_hint_spellings_mean_http(hint: str) -> None:
    assert load({"type": hint, "url": "https://example.com/mcp"}).transport == "http"


def test_stdio_hint_is_accepted() -> None:
    assert load({"type": "stdio", "command": "run"}).transport == "stdio"


def test_type_hint_chooses_between_command_and_url() -> None:
    config = load({"type": "stdio", "command": "run", "url": "https://example.com/mcp"})
    assert config.transport == "stdio"


def test_agreeing_type_and_transport_hints_are_accepted() -> None:
    config = load({"type": "streamableHttp", "transport": "http", "url": "https://e.com/mcp"})
    assert config.transport == "http"


def test_vs_code_servers_key() -> None:
    source = {"servers": {"v": {"type": "stdio", "command": "run"}}}
    assert load_server_config(source, "v").command == "run"
    assert list_servers(source) == ["v"]


def test_mcp_servers_key_wins_when_both_are_present() -> None:
    source = {"mcpServers": {"a": {"command": "one"}}, "servers": {"b": {"command": "two"}}}
    assert list_servers(source) == ["a"]


def test_unknown_keys_are_kept_in_extra_unexpanded() -> None:
    config = load({"command": "run", "disabled": True, "note": "${TOKEN}", "alwaysAllow": ["x"]})
    assert config.extra == {"disabled": True, "note": "${TOKEN}", "alwaysAllow": ["x"]}


def test_known_keys_are_not_copied_into_extra() -> None:
    assert load({"type": "stdio", "command": "run", "args": [], "cwd": "d"}).extra == {}


def test_relative_cwd_is_kept_as_given() -> None:
    assert load({"command": "run", "cwd": "./sub/../dir"}).cwd == "./sub/../dir"


def test_null_fields_are_treated_as_absent() -> None:
    config = load({"command": "run", "args": None, "env": None, "cwd": None, "url": None})
    assert (config.args, config.env, config.cwd, config.url) == ((), {}, None, None)


def test_missing_optional_fields_get_defaults() -> None:
    config = load({"command": "run"})
    assert (config.args, config.env, config.cwd, config.url, config.headers, config.extra) == (
        (),
        {},
        None,
        None,
        {},
        {},
    )


def test_config_is_frozen() -> None:
    config = load({"command": "run"})
    with pytest.raises(AttributeError):
        config.command = "other"  # type: ignore[misc]


def test_source_dict_is_not_aliased() -> None:
    env = {"A": "1"}
    config = load({"command": "run", "env": env})
    env["A"] = "2"
    assert config.env == {"A": "1"}


def test_file_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"mcpServers": {"a": {"command": "r"}}}).encode())
    assert load_server_config(path, "a").command == "r"


def test_non_ascii_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"mcpServers": {"café": {"command": "ünï"}}}', encoding="utf-8")
    assert load_server_config(path, "café").command == "ünï"


# --- list_servers --------------------------------------------------------------------------


def test_list_servers_gives_names_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"b": {"command": "x"}, "a": {"url": "http://h"}}})
    assert list_servers(path) == ["b", "a"]


def test_list_servers_does_not_validate_entries() -> None:
    assert list_servers({"mcpServers": {"bad": 42}}) == ["bad"]


def test_list_servers_of_an_empty_config() -> None:
    assert list_servers({"mcpServers": {}}) == []


# --- variable expansion --------------------------------------------------------------------


def test_variables_are_expanded_in_command() -> None:
    assert load({"command": "${HOME_DIR}/bin/run"}).command == "/home/u/bin/run"


def test_variables_are_expanded_in_args() -> None:
    assert load({"command": "run", "args": ["--root", "${HOME_DIR}"]}).args == ("--root", "/home/u")


def test_variables_are_expanded_in_env_values() -> None:
    assert load({"command": "run", "env": {"API_TOKEN": "${TOKEN}"}}).env == {"API_TOKEN": "s3cret"}


def test_env_names_are_not_expanded() -> None:
    assert load({"command": "run", "env": {"${TOKEN}": "x"}}).env == {"${TOKEN}": "x"}


def test_variables_are_expanded_in_cwd() -> None:
    assert load({"command": "run", "cwd": "${HOME_DIR}/work"}).cwd == "/home/u/work"


def test_variables_are_expanded_in_url() -> None:
    assert load({"url": "${BASE}/mcp"}).url == "https://example.com/mcp"


def test_variables_are_expanded_in_header_values() -> None:
    config = load({"url": "https://e.com", "headers": {"Authorization": "Bearer ${TOKEN}"}})
    assert config.headers == {"Authorization": "Bearer s3cret"}


def test_vs_code_env_prefix_is_expanded() -> None:
    assert load({"command": "run", "args": ["${env:TOKEN}"]}).args == ("s3cret",)


def test_several_variables_in_one_string() -> None:
    assert load({"command": "run", "args": ["${HOME_DIR}:${TOKEN}"]}).args == ("/home/u:s3cret",)


def test_variable_may_expand_to_an_empty_string() -> None:
    assert load({"command": "run", "args": ["a${EMPTY}b"]}).args == ("ab",)


def test_dollar_forms_other_than_braces_are_kept() -> None:
    args = ["$TOKEN", "$$", "cost $5", "${unterminated", "$${TOKEN}"]
    assert load({"command": "run", "args": args}).args == (
        "$TOKEN",
        "$$",
        "cost $5",
        "${unterminated",
        "$s3cret",
    )


def test_expanded_values_are_not_expanded_again() -> None:
    config = load({"command": "run", "args": ["${A}"]}, A="${B}", B="nested")
    assert config.args == ("${B}",)


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_SYNC_TEST_VARIABLE", "from-os")
    source = {"mcpServers": {"a": {"command": "${MCP_SYNC_TEST_VARIABLE}"}}}
    assert load_server_config(source, "a").command == "from-os"


def test_undefined_variable_in_command_names_server_key_and_variable() -> None:
    exc = error({"command": "${NOPE}"}, "files")
    assert str(exc) == 'server "files": "command" uses undefined variable "NOPE"'
    assert (exc.server, exc.key) == ("files", "command")


def test_undefined_variable_in_args_names_the_item() -> None:
    exc = error({"command": "run", "args": ["ok", "${NOPE}"]}, "files")
    assert str(exc) == 'server "files": "args" item 1 uses undefined variable "NOPE"'


def test_undefined_variable_in_env_names_the_entry() -> None:
    exc = error({"command": "run", "env": {"KEY": "${NOPE}"}}, "files")
    assert str(exc) == 'server "files": "env" value "KEY" uses undefined variable "NOPE"'


def test_undefined_variable_in_cwd() -> None:
    exc = error({"command": "run", "cwd": "${NOPE}"}, "files")
    assert str(exc) == 'server "files": "cwd" uses undefined variable "NOPE"'


def test_undefined_variable_in_url() -> None:
    exc = error({"url": "${NOPE}/mcp"}, "remote")
    assert str(exc) == 'server "remote": "url" uses undefined variable "NOPE"'


def test_undefined_variable_in_headers_names_the_header() -> None:
    exc = error({"url": "https://e.com", "headers": {"Authorization": "${env:NOPE}"}}, "remote")
    assert str(exc) == (
        'server "remote": "headers" value "Authorization" uses undefined variable "NOPE"'
    )
    assert (exc.server, exc.key) == ("remote", "headers")


def test_undefined_variable_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"a": {"command": "${NOPE}"}}})
    with pytest.raises(ConfigError) as info:
        load_server_config(path, "a", environ={})
    assert str(info.value) == f'{path}: server "a": "command" uses undefined variable "NOPE"'
    assert info.value.path == str(path)


def test_errors_never_show_the_values_of_variables() -> None:
    exc = error({"url": "https://e.com", "headers": {"X": "${TOKEN}", "Y": "${NOPE}"}})
    assert "s3cret" not in str(exc)


# --- reading files -------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as info:
        load_server_config(path, "a")
    assert str(info.value) == f"{path}: config file not found"
    assert (info.value.path, info.value.server, info.value.key) == (str(path), None, None)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_server_config(tmp_path, "a")


def test_invalid_json_message_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_server_config(path, "a")
    # Python 3.13 points at the comma, older versions at the brace after it.
    assert re.match(
        re.escape(f"{path}: invalid JSON at line 3 column ") + r"2[56]: ", str(info.value)
    )


def test_list_servers_reports_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid JSON at line 1 column 1"):
        list_servers(path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"mcpServers": {"\xff": {}}}')
    with pytest.raises(ConfigError, match="config file is not UTF-8"):
        load_server_config(path, "a")


def test_config_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, [1, 2])
    with pytest.raises(ConfigError) as info:
        list_servers(path)
    assert str(info.value) == f"{path}: the config must be a JSON object, not array"


def test_config_without_servers_object() -> None:
    with pytest.raises(ConfigError) as info:
        list_servers({"other": {}})
    assert str(info.value) == 'the config has no "mcpServers" (or "servers") object'


def test_servers_object_that_is_not_an_object() -> None:
    with pytest.raises(ConfigError) as info:
        list_servers({"mcpServers": ["a"]})
    assert str(info.value) == '"mcpServers" must be an object, not array'
    assert info.value.key == "mcpServers"


def test_unknown_server_lists_the_available_names() -> None:
    source = {"mcpServers": {"files": {"command": "x"}, "remote": {"url": "http://h"}}}
    with pytest.raises(ConfigError) as info:
        load_server_config(source, "nope")
    assert str(info.value) == 'server "nope": not found; the config defines "files", "remote"'
    assert (info.value.server, info.value.key) == ("nope", None)


def test_unknown_server_in_an_empty_config() -> None:
    with pytest.raises(ConfigError, match="not found; the config defines no servers"):
        load_server_config({"servers": {}}, "nope")


def test_config_error_is_a_value_error_and_an_mcp_sync_error() -> None:
    exc = error({})
    assert isinstance(exc, ValueError)
    assert isinstance(exc, MCPSyncError)


# --- malformed fields ----------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["npx", ["npx"], 1])
def test_entry_that_is_not_an_object(entry: Any) -> None:
    exc = error(entry, "files")
    assert str(exc).startswith('server "files": the entry must be an object, not ')
    assert (exc.server, exc.key) == ("files", None)


def test_entry_with_neither_command_nor_url() -> None:
    exc = error({"args": ["x"]}, "files")
    assert str(exc) == 'server "files": "command" or "url" is required'
    assert (exc.server, exc.key) == ("files", "command")


def test_entry_with_both_command_and_url_but_no_type() -> None:
    exc = error({"command": "run", "url": "https://e.com"}, "files")
    assert str(exc) == 'server "files": "type" is required when both "command" and "url" are given'
    assert exc.key == "type"


def test_stdio_type_with_only_url() -> None:
    exc = error({"type": "stdio", "url": "https://e.com"}, "files")
    assert str(exc) == 'server "files": "type" is "stdio", which needs "command"'
    assert (exc.server, exc.key) == ("files", "type")


def test_http_type_with_only_command() -> None:
    exc = error({"type": "http", "command": "run"}, "remote")
    assert str(exc) == 'server "remote": "type" is "http", which needs "url"'


def test_sse_transport_hint_with_only_command() -> None:
    exc = error({"transport": "sse", "command": "run"}, "remote")
    assert str(exc) == 'server "remote": "transport" is "sse", which needs "url"'
    assert exc.key == "transport"


@pytest.mark.parametrize("hint", ["websocket", "", 3, ["http"]])
def test_unknown_type_hint(hint: Any) -> None:
    exc = error({"type": hint, "url": "https://e.com"}, "remote")
    assert str(exc).startswith('server "remote": "type" must be one of "stdio", "http"')
    assert exc.key == "type"


def test_unknown_transport_hint() -> None:
    exc = error({"transport": "ws", "url": "https://e.com"}, "remote")
    assert str(exc).startswith('server "remote": "transport" must be one of ')


def test_contradicting_type_and_transport_hints() -> None:
    exc = error({"type": "http", "transport": "sse", "url": "https://e.com"}, "remote")
    assert str(exc) == 'server "remote": "transport" contradicts "type"'


@pytest.mark.parametrize("command", [1, ["npx"], {"a": "b"}, True])
def test_command_that_is_not_a_string(command: Any) -> None:
    exc = error({"command": command}, "files")
    assert str(exc).startswith('server "files": "command" must be a string, not ')
    assert exc.key == "command"


@pytest.mark.parametrize("command", ["", "   "])
def test_empty_command(command: str) -> None:
    exc = error({"command": command}, "files")
    assert str(exc) == 'server "files": "command" must be a non-empty string'


def test_command_that_expands_to_nothing() -> None:
    exc = error({"command": "${EMPTY}"}, "files")
    assert str(exc) == 'server "files": "command" must be a non-empty string'


@pytest.mark.parametrize("args", ["-y", ["-y", 1], [["-y"]], {"a": "b"}, 5])
def test_args_that_are_not_a_list_of_strings(args: Any) -> None:
    exc = error({"command": "run", "args": args}, "files")
    assert str(exc) == 'server "files": "args" must be a list of strings'
    assert (exc.server, exc.key) == ("files", "args")


@pytest.mark.parametrize("env", [["A=1"], "A=1", 1])
def test_env_that_is_not_an_object(env: Any) -> None:
    exc = error({"command": "run", "env": env}, "files")
    assert str(exc).startswith('server "files": "env" must be an object of strings, not ')
    assert exc.key == "env"


@pytest.mark.parametrize(("value", "kind"), [(1, "number"), (True, "boolean"), (["x"], "array")])
def test_env_value_that_is_not_a_string(value: Any, kind: str) -> None:
    exc = error({"command": "run", "env": {"PORT": value}}, "files")
    assert str(exc) == f'server "files": "env" value "PORT" must be a string, not {kind}'


def test_env_name_that_is_not_a_string() -> None:
    exc = error({"command": "run", "env": {1: "x"}}, "files")
    assert str(exc) == 'server "files": "env" must be an object of strings'


@pytest.mark.parametrize("cwd", [1, ["/srv"], False])
def test_cwd_that_is_not_a_string(cwd: Any) -> None:
    exc = error({"command": "run", "cwd": cwd}, "files")
    assert str(exc).startswith('server "files": "cwd" must be a string, not ')
    assert exc.key == "cwd"


def test_empty_cwd() -> None:
    exc = error({"command": "run", "cwd": ""}, "files")
    assert str(exc) == 'server "files": "cwd" must be a non-empty string'


def test_url_that_is_not_a_string() -> None:
    exc = error({"url": ["https://e.com"]}, "remote")
    assert str(exc) == 'server "remote": "url" must be a string, not array'
    assert exc.key == "url"


@pytest.mark.parametrize(
    "url", ["ftp://e.com/mcp", "e.com/mcp", "", "https://", "ws://e.com", "file:///tmp/x"]
)
def test_url_that_is_not_http(url: str) -> None:
    exc = error({"url": url}, "remote")
    assert str(exc) == 'server "remote": "url" must be an http:// or https:// URL'
    assert (exc.server, exc.key) == ("remote", "url")


def test_url_scheme_is_case_insensitive() -> None:
    assert load({"url": "HTTPS://e.com/mcp"}).url == "HTTPS://e.com/mcp"


def test_invalid_url_message_does_not_show_the_url() -> None:
    exc = error({"url": "ftp://user:pw@e.com"}, "remote")
    assert "pw" not in str(exc)


@pytest.mark.parametrize("headers", [["Authorization: x"], "x", 1])
def test_headers_that_are_not_an_object(headers: Any) -> None:
    exc = error({"url": "https://e.com", "headers": headers}, "remote")
    assert str(exc).startswith('server "remote": "headers" must be an object of strings, not ')
    assert exc.key == "headers"


def test_header_value_that_is_not_a_string() -> None:
    exc = error({"url": "https://e.com", "headers": {"X-Retries": 3}}, "remote")
    assert str(exc) == 'server "remote": "headers" value "X-Retries" must be a string, not number'


def test_malformed_field_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"files": {"command": "run", "args": "x"}}})
    with pytest.raises(ConfigError) as info:
        load_server_config(path, "files")
    assert str(info.value) == f'{path}: server "files": "args" must be a list of strings'


@pytest.mark.parametrize("url", ["http://[::1", "http://[::18800:/]mcp", "http://[::1,]/mcp"])
def test_a_url_with_a_malformed_host_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="url"):
        load_server_config({"mcpServers": {"s": {"url": url}}}, "s")


@pytest.mark.parametrize("text", ["[" * 100_000, '{"n": ' + "9" * 5000 + "}"])
def test_json_python_cannot_read_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_server_config(path, "s")
