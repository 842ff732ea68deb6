"""Measure mcp_sync against the official client and bare requests, on one local server.

    python benchmarks/run.py            # the full run (about ten minutes)
    python benchmarks/run.py --quick    # a short run, to check that everything works
    python benchmarks/run.py --only per_call,imports --no-docs

Everything runs against one official SDK server (``tests/servers/everything_server.py``
in its own virtualenv, started on a free loopback port) within one run. Each contender
runs in a process of its own, on this interpreter; within a section the contenders
take turns, round after round, in an order that rotates every round. Figures are the
medians of the rounds; a ratio is the median of the per-round ratios to the floor
(bare ``requests``), so that each pair shares the machine's state of the moment.

The results go to ``.cache/bench/results.json``; the page ``docs/performance.md`` and
its plot ``docs/_static/performance.png`` are rewritten from them (``--no-docs`` keeps
them as they are; ``--from-json`` rewrites them from saved results without measuring).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = REPO / ".cache" / "bench" / "results.json"
# Children start here, so that the current directory (first on sys.path for ``-c``) never
# puts the source tree's mcp_sync in front of the one this interpreter would import.
CHILD_CWD = str(HERE)

sys.path.insert(0, str(REPO / "tests"))

import report  # noqa: E402
import sse_parse  # noqa: E402
from support.server_process import ServerProcess  # noqa: E402

ERAS = ("legacy", "modern")
# The contenders of the in-process figures; mcp_sync-nojs only where jsonschema matters.
PER_CALL = ("floor", "mcp_sync", "mcp_sync-nojs", "official", "official-sync")
MAIN = ("floor", "mcp_sync", "official", "official-sync")
SECTIONS = ("wire", "per_call", "throughput", "stream", "cold", "imports", "big", "sse")


@dataclass
class Settings:
    rounds: int = 7
    seq_calls: int = 200
    threads: tuple[int, ...] = (1, 8, 32)
    calls_per_thread: tuple[int, ...] = (200, 50, 16)
    stream_steps: int = 10_000
    stream_rounds: int = 3
    cold_rounds: int = 7
    import_rounds: int = 15
    big_sizes: tuple[int, ...] = (1_000_000, 10_000_000)
    big_rounds: int = 5
    sse_events: int = 10_000
    sse_rounds: int = 7

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            rounds=2,
            seq_calls=40,
            calls_per_thread=(40, 10, 3),
            stream_steps=1_000,
            stream_rounds=1,
            cold_rounds=1,
            import_rounds=2,
            big_sizes=(1_000_000, 10_000_000),
            big_rounds=1,
            sse_events=10_000,
            sse_rounds=2,
        )


def rotated(names: Sequence[str], r: int) -> list[str]:
    """``names`` starting at the ``r``-th: each round, another contender goes first."""
    k = r % len(names)
    return list(names[k:]) + list(names[:k])


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def client_info() -> dict[str, str]:
    """The clientInfo mcp_sync sends by default, so that the floor sends the same bytes."""
    import mcp_sync

    return {"name": "mcp_sync", "version": mcp_sync.__version__}


# --------------------------------------------------------------------------- workers


class Worker:
    """A contender in its own process (``worker.py``), asked one command at a time."""

    def __init__(self, name: str, url: str, era: str, *, unlimited: bool = False):
        self.name = name
        command = [sys.executable, str(HERE / "worker.py"), name, url, era]
        command += ["--client-info", json.dumps(client_info())]
        if unlimited:
            command.append("--unlimited")
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=CHILD_CWD,
        )
        self._answer()  # ready

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError(f"worker {self.name} exited with code {self.proc.returncode}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"worker {self.name}: {answer['error']}")
        return answer

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(15)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Workers:
    """One worker for each contender, all connected in one era, closed together."""

    def __init__(self, names: Sequence[str], url: str, era: str):
        self.all: dict[str, Worker] = {}
        try:
            for name in names:
                self.all[name] = Worker(name, url, era)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for worker in self.all.values():
            worker.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- sections


def wire_check(url: str) -> dict[str, Any]:
    """Whether the floor sends what mcp_sync sends for one tool call (ids and session ids aside)."""
    out: dict[str, Any] = {}
    for era in ERAS:
        seen = {}
        with Workers(("floor", "mcp_sync"), url, era) as workers:
            for name, worker in workers.all.items():
                requests = worker.ask("wire")["requests"]
                if len(requests) != 1:
                    raise RuntimeError(f"{name} sent {len(requests)} POSTs for one call")
                sent = requests[0]
                body = json.loads(sent["body"])
                body.pop("id", None)
                headers = dict(sent["headers"])
                if "Mcp-Session-Id" in headers:
                    headers["Mcp-Session-Id"] = "<session>"
                seen[name] = {"headers": headers, "body": body}
        same = seen["floor"] == seen["mcp_sync"]
        out[era] = {"identical": same, "mcp_sync": seen["mcp_sync"], "floor": seen["floor"]}
        log(f"  wire check, {era}: {'the same request' if same else 'DIFFERENT requests'}")
        if not same:
            log(json.dumps(seen, indent=1))
    return out


def in_process(url: str, s: Settings, sections: set[str]) -> dict[str, Any]:
    """Sequential calls, threads and the streamed notifications: long-lived workers."""
    per_call: dict[str, Any] = {}
    throughput: dict[str, Any] = {}
    stream: dict[str, Any] = {}
    names = PER_CALL if "per_call" in sections else MAIN
    for era in ERAS:
        with Workers(names, url, era) as workers:
            w = workers.all
            if "per_call" in sections:
                log(f"  per call, {era}: {s.rounds} rounds of {s.seq_calls} calls")
                for name in PER_CALL:
                    w[name].ask("seq", n=s.seq_calls)  # warm-up round, not counted
                figures: dict[str, dict[str, list[float]]] = {
                    n: {"wall": [], "cpu": []} for n in PER_CALL
                }
                for r in range(s.rounds):
                    for name in rotated(PER_CALL, r):
                        got = w[name].ask("seq", n=s.seq_calls)
                        figures[name]["wall"].append(got["wall"] / got["calls"])
                        figures[name]["cpu"].append(got["cpu"] / got["calls"])
                per_call[era] = figures
            if "throughput" in sections:
                tput: dict[str, Any] = {}
                for threads, per_thread in zip(s.threads, s.calls_per_thread):
                    log(
                        f"  throughput, {era}: {threads} threads x {per_thread} calls, "
                        f"{s.rounds} rounds"
                    )
                    for name in MAIN:
                        w[name].ask("tput", threads=threads, per_thread=per_thread)
                    figures = {n: {"rate": [], "cpu": []} for n in MAIN}
                    for r in range(s.rounds):
                        for name in rotated(MAIN, r):
                            got = w[name].ask("tput", threads=threads, per_thread=per_thread)
                            figures[name]["rate"].append(got["calls"] / got["wall"])
                            figures[name]["cpu"].append(got["cpu"] / got["calls"])
                    tput[str(threads)] = figures
                throughput[era] = tput
            if "stream" in sections:
                log(f"  streamed notifications, {era}: {s.stream_steps} per call")
                figures = {n: {"rate": [], "cpu": []} for n in MAIN}
                for r in range(s.stream_rounds):
                    for name in rotated(MAIN, r):
                        got = w[name].ask("slow", steps=s.stream_steps)
                        if got["notifications"] != s.stream_steps:
                            raise RuntimeError(
                                f"{name} saw {got['notifications']} of {s.stream_steps} notifications"
                            )
                        figures[name]["rate"].append(got["notifications"] / got["wall"])
                        figures[name]["cpu"].append(got["cpu"] / got["notifications"])
                stream[era] = figures
    return {"per_call": per_call, "throughput": throughput, "stream": stream}


# Starts the program and waits for it. The peak RSS that wait4 gives for a process counts
# the memory of the process it was spawned from (the kernel carries the old image's peak
# over at exec), so the program is spawned from this small launcher rather than from the
# harness, whose own RSS would hide the program's.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_child(command: list[str], timeout: float = 120.0) -> tuple[float, int]:
    """Run ``command`` to its end: (wall seconds, peak RSS of that one process in KiB)."""
    launcher = [sys.executable, "-S", "-c", _LAUNCHER, *command]
    proc = subprocess.Popen(
        launcher, stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=CHILD_CWD
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"{' '.join(command[1:])} took more than {timeout:.0f} s") from None
    wall, rss, code = out.split()[-3:]
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(command[1:])} exited with code {code}")
    return float(wall), int(rss)


def cold(url: str, s: Settings) -> dict[str, Any]:
    """A whole program in a fresh process, for each contender in turn, round after round."""
    out: dict[str, Any] = {}
    for era in ERAS:
        log(f"  whole script, {era}: {s.cold_rounds} rounds")
        figures: dict[str, dict[str, list[float]]] = {
            n: {"wall": [], "rss_kib": []} for n in PER_CALL
        }
        for r in range(-1, s.cold_rounds):  # round -1 warms the file cache, not counted
            for name in rotated(PER_CALL, r):
                wall, rss = run_child([sys.executable, str(HERE / "cold.py"), name, url, era])
                if r >= 0:
                    figures[name]["wall"].append(wall)
                    figures[name]["rss_kib"].append(rss)
        out[era] = figures
    return out


IMPORTS = ("requests", "mcp_sync", "mcp.client.session", "mcp")
_IMPORT_TIMER = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def imports(s: Settings) -> dict[str, Any]:
    """``import X`` in fresh processes, modules taking turns: seconds, and the heaviest parts."""
    log(f"  import time: {s.import_rounds} rounds")
    figures: dict[str, list[float]] = {m: [] for m in IMPORTS}
    for r in range(-1, s.import_rounds):
        for module in rotated(IMPORTS, r):
            out = subprocess.run(
                [sys.executable, "-c", _IMPORT_TIMER.format(module=module)],
                capture_output=True,
                text=True,
                check=True,
                cwd=CHILD_CWD,
            )
            if r >= 0:
                figures[module].append(float(out.stdout))
    return {"seconds": figures, "mcp_sync_parts": import_breakdown("mcp_sync")}


def import_breakdown(module: str, top: int = 10) -> dict[str, Any]:
    """What ``import module`` loads beyond what ``import requests`` loads, from ``-X importtime``.

    The modules with the most time of their own (microseconds, one run), and the sum
    of the own times of all such modules.
    """
    runs = []
    for target in (module, "requests"):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {target}"],
            capture_output=True,
            text=True,
            check=True,
            cwd=CHILD_CWD,
        )
        rows = {}
        for line in out.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
            if m:
                rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
        runs.append(rows)
    mine, theirs = runs
    extra = {name: times for name, times in mine.items() if name not in theirs}
    ranked = sorted(extra.items(), key=lambda kv: kv[1][0], reverse=True)[:top]
    return {
        "extra_modules": len(extra),
        "extra_self_us": sum(own for own, _ in extra.values()),
        "top": [
            {"module": name, "self_us": own, "cumulative_us": cumulative}
            for name, (own, cumulative) in ranked
        ],
    }


def big(url: str, s: Settings) -> dict[str, Any]:
    """One large tool result in a fresh worker each time: time and peak RSS over baseline."""
    out: dict[str, Any] = {}
    for era in ERAS:
        per_size: dict[str, Any] = {}
        for size in s.big_sizes:
            log(f"  large result, {era}: {size:,} bytes, {s.big_rounds} rounds")
            figures: dict[str, dict[str, list[float]]] = {
                n: {"wall": [], "over_kib": [], "message_bytes": []} for n in MAIN
            }
            for r in range(s.big_rounds):
                for name in rotated(MAIN, r):
                    worker = Worker(name, url, era, unlimited=True)
                    try:
                        got = worker.ask("big", size=size)
                    finally:
                        worker.close()
                    if not got["peak_reset"]:
                        raise RuntimeError(
                            "the kernel's peak RSS could not be reset (/proc/self/clear_refs):"
                            " the large-result memory figures would be wrong"
                        )
                    figures[name]["wall"].append(got["wall"])
                    figures[name]["over_kib"].append(got["peak_kib"] - got["baseline_kib"])
                    if "message_bytes" in got:
                        figures[name]["message_bytes"].append(got["message_bytes"])
            per_size[str(size)] = figures
        out[era] = per_size
    return out


def sse(s: Settings) -> dict[str, Any]:
    log(f"  event stream parsing: {s.sse_events:,} events, {s.sse_rounds} rounds")
    return {"events": s.sse_events, "rates": sse_parse.measure(s.sse_events, s.sse_rounds)}


# --------------------------------------------------------------------------- verdicts


@dataclass
class Target:
    what: str
    era: str
    rounds: list[float]  # the measured ratio of each round
    limit: float
    at_most: bool  # True: value <= limit passes; False: value >= limit passes

    @property
    def value(self) -> float:
        return median(self.rounds)

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def targets(res: dict[str, Any]) -> list[Target]:
    out = []
    for era in ERAS:
        if era in res.get("per_call", {}):
            pc = res["per_call"][era]
            out.append(
                Target(
                    "per call, wall time vs floor",
                    era,
                    report.per_round(pc, "mcp_sync", "wall"),
                    1.15,
                    True,
                )
            )
            out.append(
                Target(
                    "per call, client CPU vs floor",
                    era,
                    report.per_round(pc, "mcp_sync", "cpu"),
                    1.30,
                    True,
                )
            )
    if "imports" in res:
        sec = res["imports"]["seconds"]
        ratios = [a / b for a, b in zip(sec["mcp_sync"], sec["requests"])]
        out.append(Target("import mcp_sync vs import requests", "-", ratios, 1.6, True))
    for era in ERAS:
        if era in res.get("cold", {}):
            c = res["cold"][era]
            out.append(
                Target(
                    "whole script, wall time vs floor",
                    era,
                    report.per_round(c, "mcp_sync", "wall"),
                    1.5,
                    True,
                )
            )
            out.append(
                Target(
                    "whole script, peak RSS vs floor",
                    era,
                    report.per_round(c, "mcp_sync", "rss_kib"),
                    1.3,
                    True,
                )
            )
    for era in ERAS:
        sizes = res.get("big", {}).get(era, {})
        biggest = max(sizes, key=int) if sizes else None
        if biggest is not None:
            f = sizes[biggest]
            message = median(f["floor"]["message_bytes"])
            out.append(
                Target(
                    f"{int(biggest) // 1_000_000} MB result, peak memory / message size",
                    era,
                    [over * 1024 / message for over in f["mcp_sync"]["over_kib"]],
                    3.0,
                    True,
                )
            )
    for era in ERAS:
        for threads in ("8", "32"):
            tp = res.get("throughput", {}).get(era, {}).get(threads)
            if tp:
                out.append(
                    Target(
                        f"throughput, {threads} threads vs floor",
                        era,
                        report.per_round(tp, "mcp_sync", "rate"),
                        0.95,
                        False,
                    )
                )
    return out


# --------------------------------------------------------------------------- main


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import mcp_sync

    found = {"python": platform.python_version(), "mcp_sync": mcp_sync.__version__}
    for dist in ("mcp", "requests", "urllib3", "httpx2", "sseclient-py", "jsonschema"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while the run lasts: how busy the machine was."""

    def __init__(self, every: float = 5.0):
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> list[float]:
        self._done.set()
        self.join()
        return self.samples


def measure(s: Settings, sections: set[str]) -> dict[str, Any]:
    res: dict[str, Any] = {
        "settings": asdict(s),
        "versions": versions(),
        "machine": {
            "system": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
            "load_before": os.getloadavg(),
        },
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    begun = time.perf_counter()
    sampler = LoadSampler()
    sampler.start()
    if "sse" in sections:
        res["sse"] = sse(s)
    if "imports" in sections:
        res["imports"] = imports(s)
    if sections & {"wire", "per_call", "throughput", "stream", "cold", "big"}:
        log("starting the official SDK server")
        with ServerProcess() as server:
            log(f"  {server.url}")
            if "wire" in sections:
                res["wire"] = wire_check(server.url)
            if sections & {"per_call", "throughput", "stream"}:
                res.update({k: v for k, v in in_process(server.url, s, sections).items() if v})
            if "cold" in sections:
                res["cold"] = cold(server.url, s)
            if "big" in sections:
                res["big"] = big(server.url, s)
    res["machine"]["load_after"] = os.getloadavg()
    res["machine"]["load_during"] = sampler.stop()
    res["seconds"] = time.perf_counter() - begun
    return res


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds of short batches")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    parser.add_argument("--from-json", type=Path, help="render saved results, measure nothing")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args(argv)

    if args.from_json:
        res = json.loads(args.from_json.read_text())
    else:
        sections = set(SECTIONS if not args.only else args.only.split(","))
        unknown = sections - set(SECTIONS)
        if unknown:
            parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
        s = Settings.quick() if args.quick else Settings()
        res = measure(s, sections)
        res["quick"] = args.quick
    # Worked out from the measurements each time, so that a page redrawn from saved
    # results follows the current rules.
    res["targets"] = [asdict(t) | {"value": t.value, "passed": t.passed} for t in targets(res)]
    if not args.from_json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
        log(f"results: {args.json}")
    print(report.text_summary(res))
    if not args.no_docs and not args.from_json and args.only:
        log("a partial run (--only) does not rewrite the docs")
    elif not args.no_docs:
        page, image = report.write_docs(res, REPO / "docs")
        log(f"wrote {page.relative_to(REPO)} and {image.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
