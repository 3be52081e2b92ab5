"""Baseline of the `update` benchmark: delta-rs ``DeltaTable.update`` of one row.

Usage: python update.py serve   (request loop, see worker.py)

Requests:
  ``update`` ``{"path": str, "id": int}``: on a ``DeltaTable(path)`` opened once per path (before
      the first timing, like our handle), ``table.update(predicate=f"id = {id}",
      updates={"note": "'updated'"})`` timed.
Answers ``{"ns": <duration>, "cpuNs": <process CPU time, all threads>, "version": <committed
version>, "metrics": <the metrics delta-rs returned>}``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deltalake import DeltaTable  # noqa: E402

from worker import finish, serve  # noqa: E402

tables: dict[str, DeltaTable] = {}


def run_update(args: dict[str, Any]) -> dict[str, Any]:
    path = str(args["path"])
    table = tables.get(path)
    if table is None:
        table = tables[path] = DeltaTable(path)
    predicate = f"id = {int(args['id'])}"
    cpu = time.process_time_ns()
    start = time.perf_counter_ns()
    metrics = table.update(predicate=predicate, updates={"note": "'updated'"})
    ns = time.perf_counter_ns() - start
    cpu_ns = time.process_time_ns() - cpu
    return {"ns": ns, "cpuNs": cpu_ns, "version": table.version(), "metrics": dict(metrics)}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write("usage: update.py serve\n")
        finish(2)
    serve({"update": run_update})
