"""Tables, the plot and the docs page, made from the results of ``run.py``."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable

import sse_parse

ERAS = ("legacy", "modern")
LABELS = {
    "floor": "bare requests (floor)",
    "mcp_sync": "mcp_sync",
    "mcp_sync-nojs": "mcp_sync, no jsonschema",
    "official": "official, async",
    "official-sync": "official, sync wrapper",
}
ERA_NAMES = {"legacy": "legacy (2025-11-25)", "modern": "modern (2026-07-28)", "-": "-"}
IMAGE = "_static/performance.png"


def med(values: list[float]) -> float:
    return statistics.median(values)


def per_round(figures: dict[str, Any], name: str, key: str, base: str = "floor") -> list[float]:
    """``name``'s figure divided by ``base``'s in the same round, for each round."""
    return [a / b for a, b in zip(figures[name][key], figures[base][key])]


def ratio(figures: dict[str, Any], name: str, key: str, base: str = "floor") -> float:
    """Median of the per-round ratios of ``name`` to ``base``."""
    return med(per_round(figures, name, key, base))


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A Markdown table; ``align`` holds one letter a column, ``l`` or ``r``."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---" if a == "l" else "--:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def x(value: float) -> str:
    return f"{value:.2f}x"


def verdict(t: dict[str, Any]) -> str:
    return "PASS" if t["passed"] else "MISS"


# --------------------------------------------------------------------------- tables


def targets_table(res: dict[str, Any]) -> str:
    rows = []
    for t in res["targets"]:
        limit = ("at most " if t["at_most"] else "at least ") + x(t["limit"])
        value = x(t["value"])
        if value == x(t["limit"]):  # too close to tell apart at two decimals
            value = f"{t['value']:.3f}x"
        low, high = min(t["rounds"]), max(t["rounds"])
        result = verdict(t)
        if low <= t["limit"] <= high:
            result += " (rounds on both sides)"
        rows.append(
            [t["what"], ERA_NAMES[t["era"]], value, f"{x(low)} to {x(high)}", limit, result]
        )
    return table(
        ["mcp_sync", "era", "measured (median)", "rounds", "target", "result"], rows, "llrrrl"
    )


def era_rows(
    res: dict[str, Any], section: str, cells: Callable[[dict[str, Any], str], list[str]]
) -> list[list[str]]:
    """One row per era and client of ``section``: the client, the era, then ``cells``."""
    rows = []
    for era in ERAS:
        figures = res[section].get(era)
        for name in figures or ():
            rows.append([LABELS[name], ERA_NAMES[era], *cells(figures, name)])
    return rows


def per_call_table(res: dict[str, Any]) -> str:
    def cells(figures: dict[str, Any], name: str) -> list[str]:
        f = figures[name]
        return [
            f"{med(f['wall']) * 1000:.2f}",
            x(ratio(figures, name, "wall")),
            f"{med(f['cpu']) * 1000:.2f}",
            x(ratio(figures, name, "cpu")),
        ]

    return table(
        ["client", "era", "wall ms/call", "vs floor", "client CPU ms/call", "vs floor"],
        era_rows(res, "per_call", cells),
        "llrrrr",
    )


def throughput_table(res: dict[str, Any]) -> str:
    rows = []
    tp = res["throughput"]
    for era in ERAS:
        for threads, figures in tp.get(era, {}).items():
            for name in figures:
                f = figures[name]
                rows.append(
                    [
                        LABELS[name],
                        ERA_NAMES[era],
                        threads,
                        f"{med(f['rate']):.0f}",
                        x(ratio(figures, name, "rate")),
                        f"{med(f['cpu']) * 1000:.2f}",
                    ]
                )
    return table(
        ["client", "era", "threads", "calls/s", "vs floor", "client CPU ms/call"], rows, "llrrrr"
    )


def stream_table(res: dict[str, Any]) -> str:
    def cells(figures: dict[str, Any], name: str) -> list[str]:
        f = figures[name]
        return [
            f"{med(f['rate']):,.0f}",
            x(ratio(figures, name, "rate")),
            f"{med(f['cpu']) * 1e6:.1f}",
        ]

    return table(
        [
            "client",
            "era",
            "notifications/s",
            "vs floor",
            "client CPU per notification, microseconds",
        ],
        era_rows(res, "stream", cells),
        "llrrr",
    )


def cold_table(res: dict[str, Any]) -> str:
    def cells(figures: dict[str, Any], name: str) -> list[str]:
        f = figures[name]
        return [
            f"{med(f['wall']):.3f}",
            x(ratio(figures, name, "wall")),
            f"{med(f['rss_kib']) / 1024:.1f}",
            x(ratio(figures, name, "rss_kib")),
        ]

    return table(
        ["client", "era", "wall s", "vs floor", "peak RSS MiB", "vs floor"],
        era_rows(res, "cold", cells),
        "llrrrr",
    )


def imports_table(res: dict[str, Any]) -> str:
    sec = res["imports"]["seconds"]
    base = sec["requests"]
    rows = []
    for module, values in sec.items():
        rows.append(
            [
                f"`import {module}`",
                f"{med(values) * 1000:.0f}",
                x(med([a / b for a, b in zip(values, base)])),
            ]
        )
    return table(["statement", "ms", "vs requests"], rows, "lrr")


def import_parts_table(res: dict[str, Any]) -> str:
    rows = []
    for part in res["imports"]["mcp_sync_parts"]["top"]:
        rows.append(
            [
                f"`{part['module']}`",
                f"{part['self_us'] / 1000:.1f}",
                f"{part['cumulative_us'] / 1000:.1f}",
            ]
        )
    return table(["module", "own ms", "with what it imports, ms"], rows, "lrr")


def big_table(res: dict[str, Any]) -> str:
    rows = []
    for era in ERAS:
        for size, figures in res["big"].get(era, {}).items():
            message = med(figures["floor"]["message_bytes"])
            for name in figures:
                f = figures[name]
                over = med(f["over_kib"]) * 1024
                rows.append(
                    [
                        LABELS[name],
                        ERA_NAMES[era],
                        f"{int(size) / 1e6:g} MB",
                        f"{message / 1e6:.1f} MB",
                        f"{med(f['wall']):.3f}",
                        x(ratio(figures, name, "wall")),
                        f"{over / 2**20:.1f}",
                        x(over / message),
                    ]
                )
    return table(
        [
            "client",
            "era",
            "text",
            "message",
            "time s",
            "vs floor",
            "peak over baseline MiB",
            "x message",
        ],
        rows,
        "llrrrrrr",
    )


def sse_table(res: dict[str, Any]) -> str:
    rates = res["sse"]["rates"]
    rows = []
    for name, values in rates.items():
        floor = sse_parse.FLOORS.get(name)
        if floor is None or floor not in rates:
            versus = "-"
        else:
            versus = f"{x(med([a / b for a, b in zip(values, rates[floor])]))} of {floor}"
        rows.append([name, f"{med(values):,.0f}", versus])
    return table(["reader", "events/s", "vs the floor doing the same work"], rows, "lrr")


# --------------------------------------------------------------------------- text


def text_summary(res: dict[str, Any]) -> str:
    parts = []
    if res.get("targets"):
        parts.append("Targets\n" + targets_table(res))
    for title, key, render in SECTIONS:
        if res.get(key):
            parts.append(title + "\n" + render(res))
    machine = res.get("machine", {})
    if machine:
        before = ", ".join(f"{v:.2f}" for v in machine.get("load_before", ()))
        after = ", ".join(f"{v:.2f}" for v in machine.get("load_after", ()))
        line = f"load average before: {before}; after: {after}"
        samples = machine.get("load_during") or []
        if samples:
            line += f"; during: median {med(samples):.2f}, highest {max(samples):.2f}"
        parts.append(line)
    return "\n\n".join(parts)


SECTIONS: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
    ("Per call", "per_call", per_call_table),
    ("Throughput", "throughput", throughput_table),
    ("Whole script", "cold", cold_table),
    ("Import time", "imports", imports_table),
    ("Large results", "big", big_table),
    ("Event streams, end to end", "stream", stream_table),
    ("Event streams, parsing only", "sse", sse_table),
]


# --------------------------------------------------------------------------- plot


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["mcp_sync", "official", "official-sync"]
    per_call_names = ["mcp_sync", "mcp_sync-nojs", "official", "official-sync"]
    colours = {
        "floor": "#7f7f7f",
        "mcp_sync": "#1f77b4",
        "mcp_sync-nojs": "#9ecae1",
        "official": "#d62728",
        "official-sync": "#ff9896",
    }
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))

    # Per call: wall and CPU as ratios to the floor, per era.
    ax = axes[0][0]
    groups = [(era, key) for era in ERAS for key in ("wall", "cpu")]
    width = 0.8 / len(per_call_names)
    for i, name in enumerate(per_call_names):
        values = [ratio(res["per_call"][era], name, key) for era, key in groups]
        ax.bar(
            [g + (i - 1.5) * width for g in range(len(groups))],
            values,
            width,
            label=LABELS[name],
            color=colours[name],
        )
    ax.axhline(1.0, color=colours["floor"], linewidth=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{era}\n{'wall' if key == 'wall' else 'CPU'}" for era, key in groups])
    ax.set_ylabel("x bare requests (1 = floor)")
    ax.set_title("One tool call")
    ax.legend(fontsize="small")

    # Throughput: calls/s against threads, per era.
    ax = axes[0][1]
    for era, style in (("legacy", "--"), ("modern", "-")):
        tp = res["throughput"].get(era, {})
        threads = sorted(tp, key=int)
        for name in ["floor", *names]:
            ax.plot(
                [int(t) for t in threads],
                [med(tp[t][name]["rate"]) for t in threads],
                style,
                marker="o",
                color=colours[name],
                label=f"{LABELS[name]}, {era}",
            )
    ax.set_xscale("log", base=2)
    ax.set_xticks([int(t) for t in res["throughput"]["modern"]])
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("threads (tasks for the async client) on one client")
    ax.set_ylabel("calls/s")
    ax.set_title("Throughput")
    ax.legend(fontsize="x-small", ncol=2)

    # Whole script: wall time (bars) and peak RSS (diamonds), both eras.
    ax = axes[1][0]
    everyone = ["floor", "mcp_sync", "mcp_sync-nojs", "official", "official-sync"]
    twin = ax.twinx()
    for k, (era, hatch) in enumerate((("legacy", "//"), ("modern", ""))):
        cold = res["cold"][era]
        xs = [i + (k - 0.5) * 0.4 for i in range(len(everyone))]
        ax.bar(
            xs,
            [med(cold[n]["wall"]) for n in everyone],
            0.4,
            color=[colours[n] for n in everyone],
            hatch=hatch,
            edgecolor="white",
            label=era,
        )
        twin.plot(xs, [med(cold[n]["rss_kib"]) / 1024 for n in everyone], "kD", markersize=4)
    ax.set_xticks(range(len(everyone)))
    ax.set_xticklabels([LABELS[n].replace(", ", ",\n") for n in everyone], fontsize="small")
    ax.set_ylabel("seconds (bars; hatched: legacy)")
    ax.set_title("Whole script: import, connect, list, call, exit")
    twin.set_ylabel("peak RSS MiB (diamonds)")
    twin.set_ylim(bottom=0)

    # Large results: peak memory over the baseline, per message size.
    ax = axes[1][1]
    sizes = sorted(res["big"]["modern"], key=int)
    bars = [(era, size) for era in ERAS for size in sizes]
    width = 0.8 / (len(names) + 1)
    for i, name in enumerate(["floor", *names]):
        values = [med(res["big"][era][size][name]["over_kib"]) / 1024 for era, size in bars]
        ax.bar(
            [g + (i - 1.5) * width for g in range(len(bars))],
            values,
            width,
            label=LABELS[name],
            color=colours[name],
        )
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([f"{era}\n{int(size) / 1e6:g} MB" for era, size in bars])
    ax.set_ylabel("peak RSS over baseline, MiB")
    ax.set_title("One large tool result")
    ax.legend(fontsize="small")

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- page


def _wire_note(res: dict[str, Any]) -> str:
    wire = res.get("wire", {})
    if all(wire.get(era, {}).get("identical") for era in ERAS):
        return (
            "Before measuring, the run checks that the headers and body the floor hands to "
            "`requests` for `tools/call` are the ones mcp_sync hands it (request and "
            "session ids aside), in both eras: they were."
        )
    return "**The floor's request differed from mcp_sync's in this run; see the results file.**"


def page(res: dict[str, Any]) -> str:
    v = res["versions"]
    m = res["machine"]
    s = res["settings"]
    load = ", ".join(f"{a:.2f}" for a in m["load_before"])
    load_after = ", ".join(f"{a:.2f}" for a in m["load_after"])
    passed = sum(t["passed"] for t in res["targets"])
    samples = m.get("load_during") or []
    during = (
        f", and during the run the 1-minute load average had a median of "
        f"{med(samples):.1f} and reached {max(samples):.1f}"
        if samples
        else ""
    )
    quick = (
        "\n\n**These figures come from a quick run (`--quick`): too few rounds to rely on.**"
        if res.get("quick")
        else ""
    )
    if m["load_before"][0] > 0.5 * m["cpus"]:
        quick += (
            "\n\n**The machine was busy when this run began (a load above half its CPUs):"
            " the rounds may spread widely.**"
        )
    threads = ", ".join(f"{t} x {c} calls" for t, c in zip(s["threads"], s["calls_per_thread"]))
    parts = res["imports"]["mcp_sync_parts"]
    return f"""# Performance

mcp_sync is meant to cost little beyond the HTTP exchange itself. This page compares it,
in one run against one local server, with the least a client can do (a bare
`requests.Session` that sends the same requests by hand and reads nothing from the
environment, called *the floor* below) and
with the official `mcp` client, used from `asyncio` or wrapped for blocking code.

The page is generated: `tox -e bench` measures and rewrites it (see
`benchmarks/README.md`). The figures below are from a run on {res["started"]},
Python {v["python"]}, mcp_sync {v["mcp_sync"]}, mcp {v["mcp"]}, requests {v["requests"]},
urllib3 {v["urllib3"]}, on {m["system"]} with {m["cpus"]} CPUs shared by the server and the
clients; the load average was {load} before and {load_after} after{during}. Absolute
figures depend on the machine and on what else runs on it; the ratios, taken round by
round, are what to compare.{quick}

```{{contents}}
:local:
:depth: 1
```

## Targets

{passed} of {len(res["targets"])} met. The targets are for `mcp_sync` as it runs here, checking each
result against its tool's `outputSchema`; the tables below also show it with `jsonschema`
hidden. "Rounds" gives the lowest and highest of the per-round ratios whose median is
measured; where they fall on both sides of the target, the result says so, and the
target is not settled by one run: on two CPUs shared with the server, wall-time ratios
of one round range widely, and two full runs can land on either side of a limit.

{targets_table(res)}

![Per-call cost, throughput, whole-script cost and memory for a large result]({IMAGE})

## The clients

bare requests (floor)
: A `requests.Session` that posts the JSON-RPC by hand and reads the whole answer: for
  the legacy era `initialize`, `notifications/initialized`, then `tools/call` with the
  session header; for 2026-07-28 the stateless POST with `_meta`,
  `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`. It keeps 64 pooled connections,
  as mcp_sync does, and resends a request lost with a connection that the server closed
  as it went out. It sets `trust_env = False`: a default `Session` reads the proxy
  variables, the CA bundle and `~/.netrc` again on every request (about a tenth of a
  call here), which mcp_sync does once per server URL. {_wire_note(res)}

mcp_sync
: `mcp_sync.Client`, as installed with the official client beside it, so `jsonschema`
  can be imported. Each result is checked against the tool's `outputSchema`; the
  schema of `add` uses only keywords that mcp_sync checks by itself, so `jsonschema` is
  not imported.

mcp_sync, no jsonschema
: The same with `jsonschema` hidden from it, as after `pip install mcp-sync` without the
  `jsonschema` extra. Results are still checked, by mcp_sync's own checker.

official, async
: `mcp.Client` on its own event loop; concurrent calls are tasks under `asyncio.gather`.

official, sync wrapper
: `mcp.Client` on a persistent event loop in a background thread; each call is submitted
  with `asyncio.run_coroutine_threadsafe` and waited for, from as many threads as asked.

All of them run on the same interpreter, each in a process of its own, against the
official SDK's test server (`tests/servers/everything_server.py`, mcp {v["mcp"]}) in
another process on the loopback interface. Every client lists the tools once after it
connects, as a program would, before the calls are timed.

## One call at a time

`add(a, b)`, {s["seq_calls"]} calls in a row per round; rounds: {s["rounds"]}. Client CPU
is the `time.process_time()` of the client's process: all its threads, none of the
server's.

{per_call_table(res)}

## Concurrent calls

Several threads share one client, each making its calls in a row: {threads}; the async
client runs as many tasks under `asyncio.gather` instead. Rounds: {s["rounds"]}. The
server has the same {m["cpus"]} CPUs to share with the client, so with many threads the
figures say as much about the server as about the clients.

{throughput_table(res)}

## A whole script

A fresh process that imports the client, connects, lists the tools, calls `add` once
and exits; rounds: {s["cold_rounds"]}, after one that is not counted. The wall time runs
from the start of the process to its end; the peak RSS is that process's own
(`ru_maxrss` from `wait4`).

{cold_table(res)}

## Import time

`import X` alone in a fresh process (rounds: {s["import_rounds"]}), timed inside the
process (so the interpreter's own start is left out).

{imports_table(res)}

`import mcp_sync` loads {parts["extra_modules"]} modules that `import requests` does not,
which take {parts["extra_self_us"] / 1000:.0f} ms of their own (`python -X importtime`, one
run); these take the most:

{import_parts_table(res)}

## Large results

One call of `big(size)`, whose result holds a text of `size` bytes; the official server
sends it twice in the message, as `content` text and as `structuredContent`, so the
message is about twice the text. Each figure comes from a fresh process, one per call
(rounds: {s["big_rounds"]}): the peak RSS during the call, from the kernel's high-water mark
reset just before it, over the RSS just before it. The message size limits are off for
this test (mcp_sync's `max_message_size=None`, the official client's
`max_sse_event_size=None`): by default mcp_sync refuses messages over 64 MiB, and the
official client refuses SSE events over 1 MiB.

{big_table(res)}

## Event streams

End to end: one call of `slow(steps={s["stream_steps"]}, delay=0)`, answered with that
many progress notifications on the call's SSE stream before the result, each counted by
a progress callback (rounds: {s["stream_rounds"]}). The server's own cost to send them
takes most of the time.

{stream_table(res)}

Parsing only: {res["sse"]["events"]:,} progress notifications framed as the official
server frames them, in memory, in 64 KiB pieces (rounds: {s["sse_rounds"]}). "bare split"
cuts the bytes on blank lines and decodes each data line, trusting every event to be
whole and well formed, as the floor does; "bare split, no JSON" only finds the data
lines. Each mcp_sync reader is compared with the bare one doing the same work.

{sse_table(res)}

## How the run works

- One server process for the whole run; the contenders take turns within each round,
  and the order rotates from round to round, so a slow moment of the machine falls on
  each of them alike.
- A figure is the median of its rounds. A ratio ("vs floor") is the median of the
  ratios within each round, which keeps each comparison to one moment of the machine.
- Each client process connects, lists the tools and makes 20 calls before it is timed.
  The per-call, concurrency, whole-script and import sections also start with one
  round that is not counted.
"""


def write_docs(res: dict[str, Any], docs: Path) -> tuple[Path, Path]:
    image = docs / IMAGE
    plot(res, image)
    target = docs / "performance.md"
    target.write_text(page(res))
    return target, image
