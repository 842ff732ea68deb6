"""Token and client-registration storage: memory, files and the keyring."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from support.oauth_world import MCP_URL, REDIRECT_URI

from mcp_sync.oauth import OAuth
from mcp_sync.oauth.storage import FileStorage, KeyringStorage, MemoryStorage, TokenStorage

KEY = "tokens|https://auth.example.com|https://mcp.example.com/mcp"
VALUE = {"access_token": "at-s3cret", "refresh_token": "rt-s3cret", "scopes": ["a", "b"]}

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the interface ---------------------------------------------------------------------------


def test_memory_and_file_storage_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryStorage(), TokenStorage)
    assert isinstance(FileStorage(tmp_path), TokenStorage)


# --- MemoryStorage ---------------------------------------------------------------------------


def test_memory_round_trip() -> None:
    storage = MemoryStorage()
    storage.save(KEY, VALUE)
    assert storage.load(KEY) == VALUE


def test_memory_missing_key_loads_none() -> None:
    assert MemoryStorage().load(KEY) is None


def test_memory_delete_forgets_the_key() -> None:
    storage = MemoryStorage()
    storage.save(KEY, VALUE)
    storage.delete(KEY)
    assert storage.load(KEY) is None


def test_memory_delete_of_a_missing_key_is_no_error() -> None:
    MemoryStorage().delete(KEY)


def test_memory_stores_deep_copies() -> None:
    storage = MemoryStorage()
    value: dict[str, Any] = {"scopes": ["a"]}
    storage.save(KEY, value)
    value["scopes"].append("saved-then-changed")
    loaded = storage.load(KEY)
    assert loaded is not None
    loaded["scopes"].append("loaded-then-changed")
    assert storage.load(KEY) == {"scopes": ["a"]}


def test_memory_repr_shows_only_the_entry_count() -> None:
    storage = MemoryStorage()
    storage.save(KEY, VALUE)
    text = repr(storage)
    assert text == "MemoryStorage(entries=1)"
    assert "s3cret" not in text and "example" not in text


# --- FileStorage -----------------------------------------------------------------------------


def test_file_round_trip(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "oauth")
    storage.save(KEY, VALUE)
    assert storage.load(KEY) == VALUE


def test_file_missing_key_loads_none(tmp_path: Path) -> None:
    assert FileStorage(tmp_path / "never-created").load(KEY) is None


def test_file_delete_removes_the_file(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    storage.save(KEY, VALUE)
    storage.delete(KEY)
    assert storage.load(KEY) is None
    assert list(tmp_path.iterdir()) == []


def test_file_delete_of_a_missing_key_is_no_error(tmp_path: Path) -> None:
    FileStorage(tmp_path).delete(KEY)


def test_file_save_replaces_the_previous_value(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    storage.save(KEY, VALUE)
    storage.save(KEY, {"access_token": "newer"})
    assert storage.load(KEY) == {"access_token": "newer"}


@posix_only
def test_file_mode_is_0600_even_with_umask_zero(tmp_path: Path, umask_zero: None) -> None:
    storage = FileStorage(tmp_path)
    storage.save(KEY, VALUE)
    assert mode(Path(storage.path_for(KEY))) == 0o600


@posix_only
def test_created_directory_mode_is_0700(tmp_path: Path, umask_zero: None) -> None:
    directory = tmp_path / "config" / "oauth"
    FileStorage(directory).save(KEY, VALUE)
    assert mode(directory) == 0o700


@posix_only
def test_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o750)
    FileStorage(directory).save(KEY, VALUE)
    assert mode(directory) == 0o750


def test_key_does_not_appear_in_the_file_name(tmp_path: Path) -> None:
    key = "client|https://auth.example.com"
    FileStorage(tmp_path).save(key, VALUE)
    (name,) = os.listdir(tmp_path)
    assert "example" not in name and "client" not in name
    assert len(name) == 64 + len(".json") and name.endswith(".json")


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    for n in range(3):
        storage.save(KEY, {"n": n})
        storage.save("client|x", {"n": n})
    assert sorted(os.listdir(tmp_path)) == sorted(
        [os.path.basename(storage.path_for(KEY)), os.path.basename(storage.path_for("client|x"))]
    )


def test_value_that_is_not_json_fails_without_touching_the_file(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    storage.save(KEY, VALUE)
    with pytest.raises(TypeError):
        storage.save(KEY, {"bad": object()})
    assert storage.load(KEY) == VALUE
    assert len(os.listdir(tmp_path)) == 1


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'["a list"]', b"\xff\xfe", b""],
    ids=["bad-json", "list", "bytes", "empty"],
)
def test_corrupt_file_loads_none_and_warns_without_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    storage = FileStorage(tmp_path)
    Path(storage.path_for(KEY)).write_bytes(content + b"s3cret")
    with caplog.at_level(logging.WARNING, logger="mcp_sync"):
        assert storage.load(KEY) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "s3cret" not in caplog.text


def test_two_instances_on_one_directory_see_each_others_data(tmp_path: Path) -> None:
    first, second = FileStorage(tmp_path), FileStorage(str(tmp_path))
    first.save(KEY, VALUE)
    assert second.load(KEY) == VALUE
    second.delete(KEY)
    assert first.load(KEY) is None


def test_default_directory_follows_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert FileStorage().directory == str(tmp_path / "mcp_sync" / "oauth")


def test_default_directory_without_xdg_is_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert FileStorage().directory == str(tmp_path / ".config" / "mcp_sync" / "oauth")


# --- KeyringStorage --------------------------------------------------------------------------


@pytest.fixture
def fake_keyring() -> Iterator[dict[tuple[str, str], str]]:
    """An in-memory keyring backend, installed for the test. keyring must be installed."""
    import keyring
    import keyring.backend
    import keyring.errors

    passwords: dict[tuple[str, str], str] = {}

    class MemoryKeyring(keyring.backend.KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> Optional[str]:
            return passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if passwords.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError("not found")

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield passwords
    finally:
        keyring.set_keyring(previous)


def test_keyring_round_trip_stores_json_under_the_key(
    fake_keyring: dict[tuple[str, str], str],
) -> None:
    storage = KeyringStorage(service="test-service")
    storage.save(KEY, VALUE)
    assert json.loads(fake_keyring[("test-service", KEY)]) == VALUE
    assert storage.load(KEY) == VALUE


def test_keyring_missing_key_loads_none(fake_keyring: dict[tuple[str, str], str]) -> None:
    assert KeyringStorage().load(KEY) is None


def test_keyring_delete_removes_the_entry(fake_keyring: dict[tuple[str, str], str]) -> None:
    storage = KeyringStorage()
    storage.save(KEY, VALUE)
    storage.delete(KEY)
    assert fake_keyring == {}
    assert storage.load(KEY) is None


def test_keyring_delete_of_a_missing_entry_is_no_error(
    fake_keyring: dict[tuple[str, str], str],
) -> None:
    KeyringStorage().delete(KEY)


def test_keyring_corrupt_entry_loads_none_and_warns_without_content(
    fake_keyring: dict[tuple[str, str], str], caplog: pytest.LogCaptureFixture
) -> None:
    fake_keyring[("mcp_sync", KEY)] = "s3cret{"
    with caplog.at_level(logging.WARNING, logger="mcp_sync"):
        assert KeyringStorage().load(KEY) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "s3cret" not in caplog.text


def test_keyring_storage_without_keyring_raises_a_clear_import_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ImportError, match=r"pip install 'mcp_sync\[keyring\]'"):
        KeyringStorage()


def test_importing_the_module_does_not_import_keyring() -> None:
    import subprocess

    code = (
        "import sys, mcp_sync.oauth.storage; "
        "sys.exit(1 if any(m == 'keyring' or m.startswith('keyring.') for m in sys.modules) else 0)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


# --- a broken storage during a sign-in ------------------------------------------------------


class BrokenStorage(MemoryStorage):
    """A MemoryStorage whose save() or load() fails while ``broken`` names it; the error
    message quotes what was saved, as a careless backend might."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: set[str] = set()

    def save(self, key: str, value: dict[str, Any]) -> None:
        if "save" in self.broken:
            raise OSError(f"disk full, could not write {value}")
        super().save(key, value)

    def load(self, key: str) -> Optional[dict[str, Any]]:
        if "load" in self.broken:
            raise OSError(f"cannot read {key}")
        return super().load(key)


dynamic_registration = pytest.param(None, id="dynamic-registration")


@pytest.mark.parametrize("client_id", ["pre-registered", dynamic_registration])
def test_a_storage_that_cannot_save_does_not_fail_the_sign_in(
    world: Any,
    session: Any,
    caplog: pytest.LogCaptureFixture,
    client_id: Optional[str],
) -> None:
    storage = BrokenStorage()
    storage.broken.add("save")
    auth = OAuth(
        redirect_handler=world.handler,
        redirect_uri=REDIRECT_URI,
        client_id=client_id,
        storage=storage,
    )

    with caplog.at_level(logging.WARNING, logger="mcp_sync"):
        assert session.get(MCP_URL, auth=auth).status_code == 200

    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert auth.token.access_token not in caplog.text
    assert auth.token.refresh_token not in caplog.text


@pytest.mark.parametrize("client_id", ["pre-registered", dynamic_registration])
def test_a_storage_that_cannot_load_costs_a_sign_in_not_an_error(
    world: Any, session: Any, client_id: Optional[str]
) -> None:
    storage = BrokenStorage()
    options: dict[str, Any] = {
        "redirect_handler": world.handler,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "storage": storage,
    }
    assert session.get(MCP_URL, auth=OAuth(**options)).status_code == 200
    storage.broken.add("load")

    assert session.get(MCP_URL, auth=OAuth(**options)).status_code == 200

    assert len(world.authorization_requests) == 2
