"""Where OAuth tokens and client registrations are kept between calls and runs.

A storage maps opaque string keys, which the caller builds (for example
``"tokens|<issuer>|<resource>"``), to JSON-serialisable dicts. Three come with
mcp_sync: :class:`MemoryStorage` (this process only), :class:`FileStorage` (one
private file per key) and :class:`KeyringStorage` (the operating system's keyring).
Any object with ``load``, ``save`` and ``delete`` satisfies :class:`TokenStorage`.

Stored values hold secrets, so no storage ever logs or shows a value or a key's
file contents.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import logging
import os
import secrets
import threading
from typing import Any, Optional, Protocol, Union, runtime_checkable

__all__ = ["FileStorage", "KeyringStorage", "MemoryStorage", "TokenStorage"]

log = logging.getLogger("mcp_sync")

_KEYRING_MISSING = "KeyringStorage needs the keyring package: pip install 'mcp_sync[keyring]'"


@runtime_checkable
class TokenStorage(Protocol):
    """Keeps JSON-serialisable dicts under opaque string keys.

    Implementations must be safe to call from several threads at once.
    """

    def load(self, key: str) -> Optional[dict[str, Any]]:
        """Return the value saved under ``key``, or None if there is none."""
        ...

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``; a key that is not stored is no error."""
        ...


class MemoryStorage:
    """Keeps values in this process only; they are gone when it exits.

    Values are deep-copied on the way in and out, so a caller that changes a dict
    it saved or loaded does not change what is stored.
    """

    def __init__(self) -> None:
        # Guards _values; touched by any thread that calls load, save or delete.
        self._lock = threading.Lock()
        self._values: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> Optional[dict[str, Any]]:
        """Return a copy of the value saved under ``key``, or None."""
        with self._lock:
            value = self._values.get(key)
            return None if value is None else copy.deepcopy(value)

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Store a copy of ``value`` under ``key``."""
        value = copy.deepcopy(value)
        with self._lock:
            self._values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key`` if it is stored."""
        with self._lock:
            self._values.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:
        # Only a count: keys name issuers and resources, values hold tokens.
        return f"MemoryStorage(entries={len(self)})"


def _default_directory() -> str:
    """``$XDG_CONFIG_HOME/mcp_sync/oauth``, else ``~/.config/mcp_sync/oauth``."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "mcp_sync", "oauth")


def _decode(raw: Union[str, bytes], where: str) -> Optional[dict[str, Any]]:
    """Parse a stored value; anything but a JSON object is logged (without content) and None."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):  # UnicodeDecodeError is a ValueError
        log.warning("ignoring the unreadable OAuth storage entry %s (not valid JSON)", where)
        return None
    if not isinstance(value, dict):
        log.warning("ignoring the unreadable OAuth storage entry %s (not a JSON object)", where)
        return None
    return value


class FileStorage:
    """Keeps each value in its own JSON file, readable only by the current user.

    ``directory`` defaults to ``$XDG_CONFIG_HOME/mcp_sync/oauth`` (or
    ``~/.config/mcp_sync/oauth``), resolved when the storage is created. A file is
    named by the SHA-256 of its key, so keys never appear on disk. Files are written
    atomically (temporary file, fsync, rename) with mode 0600 whatever the umask.
    The directory is created on the first save with mode 0700; a directory that
    already exists keeps its permissions, since the user chose them. A file that is
    not a JSON object loads as None, with a warning. On Windows, file modes are left
    to the operating system.
    """

    def __init__(self, directory: Optional[Union[str, os.PathLike[str]]] = None) -> None:
        self._directory = os.path.abspath(
            _default_directory() if directory is None else os.fspath(directory)
        )
        # Serialises this instance's file operations; touched by any thread that calls
        # load, save or delete. Other instances and processes are kept consistent by
        # the atomic rename instead.
        self._lock = threading.Lock()

    @property
    def directory(self) -> str:
        """The absolute path of the directory holding the files."""
        return self._directory

    def path_for(self, key: str) -> str:
        """Return the path of the file that holds ``key``'s value."""
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self._directory, name + ".json")

    def load(self, key: str) -> Optional[dict[str, Any]]:
        """Return the value saved under ``key``, or None if there is none or it is corrupt."""
        path = self.path_for(key)
        with self._lock:
            try:
                with open(path, "rb") as file:
                    raw = file.read()
            except FileNotFoundError:
                return None
        return _decode(raw, path)

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Write ``value`` under ``key`` atomically, replacing what was there."""
        # Serialise first, so a value that is not JSON fails before the disk is touched.
        data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
        path = self.path_for(key)
        with self._lock:
            self._make_directory()
            # A dot name that no reader looks for; random, so that concurrent writers
            # (threads of other instances, other processes) never share one.
            temp = os.path.join(
                self._directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp"
            )
            flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
            try:
                fd = os.open(temp, flags, 0o600)
                try:
                    if os.name == "posix":
                        os.fchmod(fd, 0o600)  # the umask may have narrowed the mode
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(temp, path)
            except BaseException:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
                raise
            self._sync_directory()

    def delete(self, key: str) -> None:
        """Remove ``key``'s file; a missing file is no error."""
        path = self.path_for(key)
        with self._lock:
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
            self._sync_directory()

    def _make_directory(self) -> None:
        parent = os.path.dirname(self._directory)
        if parent:
            os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(self._directory, 0o700)
        except FileExistsError:
            return  # the user's directory: its permissions are theirs to choose
        if os.name == "posix":
            os.chmod(self._directory, 0o700)  # the umask may have narrowed the mode

    def _sync_directory(self) -> None:
        # Makes the rename or unlink itself durable; best effort, POSIX only.
        if os.name != "posix":
            return
        try:
            fd = os.open(self._directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __repr__(self) -> str:
        return f"FileStorage({self._directory!r})"


class KeyringStorage:
    """Keeps values in the operating system's keyring, through the ``keyring`` package.

    Each value is stored as a JSON string, under ``service`` with the key as the
    user name. Raises ImportError at creation if ``keyring`` is not installed (it
    comes with the ``mcp_sync[keyring]`` extra). Some backends limit the size of a
    secret (Windows Credential Manager to about 2.5 KB), which large tokens exceed.
    """

    def __init__(self, service: str = "mcp_sync") -> None:
        try:
            # Imported here: keyring is optional and slow to import.
            keyring = importlib.import_module("keyring")
            keyring_errors = importlib.import_module("keyring.errors")
        except ImportError as exc:
            raise ImportError(_KEYRING_MISSING) from exc
        self._service = service
        self._keyring = keyring
        self._delete_error: type[BaseException] = keyring_errors.PasswordDeleteError
        # Serialises calls into the keyring backend, not all of which are thread-safe
        # (D-Bus Secret Service); touched by any thread that calls load, save or delete.
        self._lock = threading.Lock()

    @property
    def service(self) -> str:
        """The keyring service name the values are stored under."""
        return self._service

    def load(self, key: str) -> Optional[dict[str, Any]]:
        """Return the value saved under ``key``, or None if there is none or it is corrupt."""
        with self._lock:
            raw = self._keyring.get_password(self._service, key)
        if raw is None:
            return None
        return _decode(raw, f"in the keyring service {self._service!r}")

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` as a JSON string, replacing what was there."""
        data = json.dumps(value, sort_keys=True)
        with self._lock:
            self._keyring.set_password(self._service, key, data)

    def delete(self, key: str) -> None:
        """Remove ``key`` from the keyring; a missing entry is no error."""
        with self._lock:
            try:
                self._keyring.delete_password(self._service, key)
            except self._delete_error:
                pass

    def __repr__(self) -> str:
        return f"KeyringStorage(service={self._service!r})"
