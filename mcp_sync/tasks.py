"""Long-running tool calls as tasks, in both forms the protocol has had.

- 2025-11-25 (legacy, experimental): a task-augmented ``tools/call`` answers with a
  task at once; ``tasks/get`` polls it and ``tasks/result`` gives the tool's result.
- 2026-07-28 (the ``io.modelcontextprotocol/tasks`` extension): the server may answer
  ``tools/call`` with ``resultType: "task"``; ``tasks/get`` polls it and carries the
  result, the error or the input it needs, which ``tasks/update`` supplies.

:class:`ToolTask` is the handle for either; ``Client.call_tool`` waits on one for you.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from .engine import CancelToken
from .errors import MCPError, MCPSyncError, ProtocolError, RequestCancelled, RequestTimeout
from .types import CallToolResult, WireType, _extra

if TYPE_CHECKING:
    from .client import Client

__all__ = ["TASKS_EXTENSION", "TERMINAL_STATUSES", "Task", "ToolTask"]

log = logging.getLogger("mcp_sync")

#: The capability key of the 2026-07-28 tasks extension.
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

#: A task in one of these states will not change again.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

# Poll this often when the server suggests nothing, and within these bounds when it does.
_DEFAULT_POLL = 0.5
_MIN_POLL, _MAX_POLL = 0.05, 30.0


@dataclass
class Task(WireType):
    """A task's state as the server last reported it.

    The legacy form gives ``ttl`` and ``poll_interval``, the extension ``ttl_ms`` and
    ``poll_interval_ms`` (all in milliseconds).
    """

    task_id: str
    status: str
    status_message: Optional[str] = None
    created_at: Optional[str] = None
    last_updated_at: Optional[str] = None
    ttl: Optional[float] = None
    poll_interval: Optional[float] = None
    ttl_ms: Optional[float] = None
    poll_interval_ms: Optional[float] = None
    extra: dict[str, Any] = _extra()

    @property
    def done(self) -> bool:
        """Whether the task reached a final state (completed, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES

    @property
    def poll_seconds(self) -> float:
        """How long to wait before asking again, as the server suggests (bounded)."""
        hint = self.poll_interval_ms if self.poll_interval_ms is not None else self.poll_interval
        if isinstance(hint, bool) or not isinstance(hint, (int, float)):
            return _DEFAULT_POLL
        return min(max(hint / 1000.0, _MIN_POLL), _MAX_POLL)


def _task(raw: Any, where: str) -> Task:
    try:
        return Task.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed task in {where}: {exc}") from None


class ToolTask:
    """A tool call running as a task: :meth:`wait` for it, :meth:`refresh` or :meth:`cancel` it.

    Get one from :meth:`mcp_sync.Client.start_tool`. One thread may wait while another
    cancels.
    """

    def __init__(self, client: Client, tool: str, task: Task, modern: bool):
        self._client = client
        self.tool = tool
        self.modern = modern
        # The last state read; replaced whole (never mutated) by whichever thread polls.
        self.task = task
        self._details: dict[str, Any] = {}  # the modern form's result/error/inputRequests
        self._answered: set[str] = set()  # input request keys already answered (modern)

    @property
    def task_id(self) -> str:
        return self.task.task_id

    def __repr__(self) -> str:
        return f"<ToolTask {self.tool} {self.task_id} {self.task.status}>"

    def refresh(self) -> Task:
        """Ask the server for the task's state (``tasks/get``)."""
        raw = self._client._call("tasks/get", {"taskId": self.task_id})
        self.task = _task(raw, "tasks/get")
        if self.modern and isinstance(raw, dict):
            self._details = raw
        return self.task

    def cancel(self) -> Task:
        """Ask the server to cancel the task (``tasks/cancel``); cancelling is cooperative."""
        raw = self._client._call("tasks/cancel", {"taskId": self.task_id})
        if not self.modern:
            self.task = _task(raw, "tasks/cancel")
        return self.task

    def wait(
        self,
        timeout: Optional[float] = None,
        *,
        cancel: Optional[CancelToken] = None,
        cancel_on_timeout: bool = False,
    ) -> CallToolResult:
        """Block until the task ends and return the tool's result.

        Input the task asks for goes to the client's handlers. Raises
        :class:`~mcp_sync.MCPError` for a task that failed with an error,
        :class:`~mcp_sync.RequestCancelled` for a cancelled one (or when ``cancel``
        fires, which also cancels the task), and :class:`~mcp_sync.RequestTimeout` when
        ``timeout`` seconds pass first (cancelling the task if ``cancel_on_timeout``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            outcome = self._modern_step() if self.modern else self._legacy_step(deadline)
            if outcome is not None:
                return outcome
            pause = self.task.poll_seconds
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    if cancel_on_timeout:
                        self._cancel_quietly()
                    raise RequestTimeout("tasks/get", timeout or 0.0)
                pause = min(pause, left)
            if cancel is not None:
                cancel._pause(pause)
                if cancel.cancelled:
                    self._cancel_quietly()
                    raise RequestCancelled("tools/call", cancel.reason)
            else:
                time.sleep(pause)
            self.refresh()

    def _cancel_quietly(self) -> None:
        try:
            self.cancel()
        except MCPSyncError as exc:  # best effort: the caller gets its answer either way
            log.debug("could not cancel task %s: %s", self.task_id, exc)

    def _legacy_step(self, deadline: Optional[float]) -> Optional[CallToolResult]:
        status = self.task.status
        if status == "cancelled":
            raise RequestCancelled("tools/call", f"task {self.task_id} was cancelled")
        if status in TERMINAL_STATUSES or status == "input_required":
            # tasks/result blocks until the task ends; while it waits the server sends
            # the requests it needs on that stream, and the handlers answer them.
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            raw = self._client._call("tasks/result", {"taskId": self.task_id}, timeout=left)
            return self._client._tool_result(self.tool, raw)
        return None

    def _modern_step(self) -> Optional[CallToolResult]:
        status = self.task.status
        details = self._details
        if status == "completed":
            return self._client._tool_result(self.tool, details.get("result"))
        if status == "failed":
            error = details.get("error")
            if not isinstance(error, dict) or not isinstance(error.get("code"), int):
                raise ProtocolError(f"task {self.task_id} failed without a JSON-RPC error")
            raise MCPError(
                error["code"], str(error.get("message", "")), error.get("data"), method="tools/call"
            )
        if status == "cancelled":
            raise RequestCancelled("tools/call", f"task {self.task_id} was cancelled")
        if status == "input_required":
            requests = details.get("inputRequests")
            if isinstance(requests, dict):
                fresh = {k: v for k, v in requests.items() if k not in self._answered}
                if fresh:
                    answers = self._client._gather_inputs(fresh)
                    self._client._call(
                        "tasks/update", {"taskId": self.task_id, "inputResponses": answers}
                    )
                    self._answered.update(fresh)
        return None
