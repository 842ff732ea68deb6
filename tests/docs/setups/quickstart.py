"""docs/quickstart.md: the sampling handler calls the reader's own model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def setup(namespace: dict[str, Any], server: Any) -> Iterator[None]:
    def my_llm(messages: list[dict[str, Any]], max_tokens: int) -> str:
        return "a model's answer"

    namespace["my_llm"] = my_llm
    yield
