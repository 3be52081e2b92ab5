"""Baseline of the `optimize`, `zorder` and `skipping` benchmarks: delta-rs OPTIMIZE and reads.

Usage: python optimize.py serve   (request loop, see worker.py)

Requests (the table is opened before the timing starts; only the operation is timed):
  ``compact`` ``{"path": str}``: ``DeltaTable(path).optimize.compact()``.
  ``zorder`` ``{"path": str, "columns": [str], "targetSize": int}``:
      ``DeltaTable(path).optimize.z_order(columns, target_size=targetSize)``.
  ``query`` ``{"path": str, "column": str, "value": str}``: ``DeltaTable(path)`` opened, then
      ``to_pyarrow_table(filters=[(column, "=", value)])`` timed.
Each answers ``{"ns": <duration>, ...}`` with the files added/removed or the rows read.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deltalake import DeltaTable  # noqa: E402

from worker import finish, serve, timed  # noqa: E402


def run_compact(args: dict[str, object]) -> dict[str, int]:
    table = DeltaTable(str(args["path"]))
    metrics: dict[str, object] = {}

    def once() -> None:
        nonlocal metrics
        metrics = table.optimize.compact()

    ns = timed(once)
    return {
        "ns": ns,
        "added": int(metrics["numFilesAdded"]),  # type: ignore[arg-type]
        "removed": int(metrics["numFilesRemoved"]),  # type: ignore[arg-type]
    }


def run_zorder(args: dict[str, object]) -> dict[str, int]:
    table = DeltaTable(str(args["path"]))
    columns = [str(c) for c in args["columns"]]  # type: ignore[union-attr]
    target = int(args["targetSize"])  # type: ignore[arg-type]
    metrics: dict[str, object] = {}

    def once() -> None:
        nonlocal metrics
        metrics = table.optimize.z_order(columns, target_size=target)

    ns = timed(once)
    return {
        "ns": ns,
        "added": int(metrics["numFilesAdded"]),  # type: ignore[arg-type]
        "removed": int(metrics["numFilesRemoved"]),  # type: ignore[arg-type]
    }


def run_query(args: dict[str, object]) -> dict[str, int]:
    table = DeltaTable(str(args["path"]))
    column, value = str(args["column"]), str(args["value"])
    rows = 0

    def once() -> None:
        nonlocal rows
        rows = table.to_pyarrow_table(filters=[(column, "=", value)]).num_rows

    ns = timed(once)
    return {"ns": ns, "rows": rows}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write("usage: optimize.py serve\n")
        finish(2)
    serve({"compact": run_compact, "zorder": run_zorder, "query": run_query})
