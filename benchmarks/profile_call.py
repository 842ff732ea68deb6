"""Profile mcp_sync's ``call_tool`` against the official SDK server, in both eras.

    python benchmarks/profile_call.py [--calls N] [--era legacy|modern] [--big SIZE | --slow N]
        [--no-jsonschema] [--pyinstrument] [--top K] [--callers PATTERN]

For each era: connect, list the tools, make 50 warm-up calls, then run ``--calls`` calls
of ``add`` (or one call of ``big(SIZE)`` with ``--big``, or of ``slow`` with ``--slow``,
which streams N progress notifications) under cProfile. Printed per era:

- the functions with the most time of their own, everywhere (mcp_sync, requests,
  urllib3, http.client, json, ...), per call;
- mcp_sync's own functions by cumulative time, as a share of the whole call, with how
  many times each runs per call: what every request repeats;
- with ``--callers PATTERN``, who calls the functions whose name matches PATTERN;
- with ``--pyinstrument`` (when installed), pyinstrument's call tree of the same loop.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.server_process import ServerProcess

LEGACY_VERSION = "2025-11-25"


def short(func: tuple[str, int, str]) -> str:
    """``package/module.py:line(function)`` from a pstats key, without the install path."""
    path, line, name = func
    if path == "~":
        return name
    parts = Path(path).parts
    for anchor in ("mcp_sync", "site-packages", "lib"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            parts = parts[i + (0 if anchor == "mcp_sync" else 1) :]
            break
    else:
        parts = parts[-2:]
    return f"{'/'.join(parts)}:{line}({name})"


def report(stats: pstats.Stats, calls: int, top: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"  {total / calls * 1e6:.0f} us of profiled time per call ({calls} calls)")
    print(f"\n  most own time, per call (of {total / calls * 1e6:.0f} us):")
    own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for func, (_, nc, tt, _ct, _) in own:
        print(f"    {tt / calls * 1e6:8.1f} us  {nc / calls:6.1f}x  {short(func)}")
    print("\n  mcp_sync by cumulative time (share of the whole call), runs per call:")
    mine = [(f, v) for f, v in raw.items() if "mcp_sync" in Path(f[0]).parts]
    mine.sort(key=lambda kv: kv[1][3], reverse=True)
    for func, (_, nc, tt, ct, _) in mine[:top]:
        print(
            f"    {ct / total * 100:5.1f}%  cum {ct / calls * 1e6:7.1f} us  own "
            f"{tt / calls * 1e6:6.1f} us  {nc / calls:5.1f}x  {short(func)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--era", choices=("legacy", "modern"), action="append")
    parser.add_argument("--big", type=int, help="profile one big(SIZE) call instead")
    parser.add_argument(
        "--slow", type=int, help="profile one slow(steps=STEPS, delay=0) call, with progress"
    )
    parser.add_argument("--no-jsonschema", action="store_true", help="hide jsonschema")
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--callers", action="append", default=[], help="also show who calls functions matching this"
    )
    args = parser.parse_args()
    if args.no_jsonschema:
        sys.modules["jsonschema"] = None  # type: ignore[assignment]
        sys.modules["referencing"] = None  # type: ignore[assignment]

    import mcp_sync

    calls = 1 if args.big or args.slow else args.calls
    with ServerProcess() as server:
        for era in args.era or ["legacy", "modern"]:
            options: dict[str, Any] = {"max_message_size": None} if args.big else {}
            version = LEGACY_VERSION if era == "legacy" else None
            with mcp_sync.Client(server.url, protocol_version=version, **options) as client:
                client.list_tools()
                for i in range(50):
                    client.call_tool("add", {"a": i, "b": 1})

                def loop(client: mcp_sync.Client = client) -> None:
                    if args.big:
                        client.call_tool("big", {"size": args.big})
                        return
                    if args.slow:
                        seen = []
                        client.call_tool(
                            "slow",
                            {"steps": args.slow, "delay": 0},
                            progress=lambda done, total, message: seen.append(done),
                        )
                        assert len(seen) == args.slow
                        return
                    for i in range(calls):
                        client.call_tool("add", {"a": i, "b": 1})

                what = "add"
                if args.big:
                    what = f"big({args.big})"
                elif args.slow:
                    what = f"slow({args.slow})"
                print(f"\n=== {era}: call_tool({what!r}) ===")
                profiler = cProfile.Profile()
                profiler.runcall(loop)
                stats = pstats.Stats(profiler)
                report(stats, calls, args.top)
                for pattern in args.callers:
                    stats.print_callers(pattern)
                if args.pyinstrument:
                    try:
                        import pyinstrument
                    except ImportError:
                        print("  (pyinstrument is not installed)")
                        continue
                    sampler = pyinstrument.Profiler(interval=0.0002)
                    sampler.start()
                    loop()
                    sampler.stop()
                    text = sampler.output_text(unicode=False, color=False, flat=True)
                    print("  pyinstrument, own time (flat):")
                    print("\n".join(text.splitlines()[: args.top + 8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
