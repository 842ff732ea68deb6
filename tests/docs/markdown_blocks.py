"""Fenced code blocks of Markdown pages, and the commands of ``console`` blocks.

Pure functions over text, so that the docs tests can say exactly which example
failed (``docs/quickstart.md:21``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its info string, its first line number (1-based), its text."""

    info: str
    line: int
    text: str
    indented: bool = False


@dataclass
class Command:
    """One ``$ ...`` line of a console block and the output lines shown after it."""

    line: int
    command: str
    output: list[str] = field(default_factory=list)


def fenced_blocks(markdown: str) -> list[Block]:
    """Every fenced block, in order. A fence closes on a bare line of at least as many
    backticks; the block's lines lose the opening fence's indentation."""
    blocks: list[Block] = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        first_line = index + 1
        ticks, indent = opening.group("ticks"), opening.group("indent")
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if (
                closing
                and not closing.group("info").strip()
                and len(closing["ticks"]) >= len(ticks)
            ):
                break
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            index += 1
        info = opening.group("info").strip()
        blocks.append(Block(info, first_line, "\n".join(body) + "\n", bool(indent)))
        index += 1
    return blocks


def console_commands(block: Block) -> list[Command]:
    """The ``$ `` lines of a console block, each with the output lines that follow it.

    A trailing ``# comment`` on a command line is the reader's, not the shell's, and is
    kept (the shell ignores it).
    """
    commands: list[Command] = []
    for offset, line in enumerate(block.text.rstrip("\n").split("\n")):
        if line.startswith("$ "):
            commands.append(Command(block.line + 1 + offset, line[2:]))
        elif commands:
            commands[-1].output.append(line)
        elif line.strip():
            raise ValueError(f"line {block.line + 1 + offset}: output before any $ command")
    return commands
