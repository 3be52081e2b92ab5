"""A line-oriented request/response loop for baseline benchmarks (see bench/README.md).

The Node side (bench/lib/worker.ts) writes one JSON request per line on stdin:
``{"op": "<handler>", "args": {...}}``; the worker answers each with one JSON line on stdout:
``{"ok": <result>}`` or ``{"error": "<Type>: <message>"}``. Timings are taken inside the
handler (time.perf_counter_ns), so pipe latency never enters a measurement. EOF ends the loop.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

Handler = Callable[[dict[str, Any]], Any]


def finish(code: int = 0) -> None:
    """Flushes output and exits without interpreter teardown.

    deltalake 1.6 with pyarrow 26 can abort during interpreter shutdown once tables were
    materialized; the results are already written by then.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def timed(fn: Callable[[], Any]) -> int:
    """Nanoseconds one call of ``fn`` takes."""
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def serve(handlers: dict[str, Handler]) -> None:
    """Answers requests from stdin until EOF, then exits the process."""
    handlers = {**handlers, "info": lambda _args: _info()}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            handler = handlers[request["op"]]
            reply: dict[str, Any] = {"ok": handler(request.get("args") or {})}
        except Exception as error:  # reported to the caller, which fails the benchmark
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    finish(0)


def _info() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": sys.version.split()[0]}
    for package in ("deltalake", "pyarrow", "polars", "duckdb"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            pass
    return versions
