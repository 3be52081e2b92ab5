"""Baseline of the `vacuum` benchmark: delta-rs VACUUM of a table copy.

Usage: python vacuum.py serve   (request loop, see worker.py)

Request ``vacuum`` with ``{"path": str, "full": bool, "dryRun": bool}``: one repetition is a
fresh ``DeltaTable(path)`` followed by ``vacuum(retention_hours=0,
enforce_retention_duration=False, dry_run=dryRun, full=full)``; answers
``{"ns": <duration>, "openNs": <of which opening>, "deleted": <number of files listed>}``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deltalake import DeltaTable  # noqa: E402

from worker import finish, serve, timed  # noqa: E402


def run_vacuum(args: dict[str, object]) -> dict[str, int]:
    """One repetition: open the table and vacuum it with retention 0."""
    path = str(args["path"])
    full = bool(args.get("full", False))
    dry_run = bool(args.get("dryRun", False))
    deleted: list[str] = []
    open_ns = 0

    def once() -> None:
        nonlocal deleted, open_ns
        start = time.perf_counter_ns()
        table = DeltaTable(path)
        open_ns = time.perf_counter_ns() - start
        deleted = table.vacuum(
            retention_hours=0,
            enforce_retention_duration=False,
            dry_run=dry_run,
            full=full,
        )

    ns = timed(once)
    return {"ns": ns, "openNs": open_ns, "deleted": len(deleted)}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write("usage: vacuum.py serve\n")
        finish(2)
    serve({"vacuum": run_vacuum})
