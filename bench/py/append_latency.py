"""Baseline of the `append-latency` benchmark: delta-rs appending one row per commit.

Usage: python append_latency.py serve   (request loop, see worker.py)

Requests:
- ``create`` with ``{"path": str}``: creates the empty table (not timed); answers ``{}``.
- ``append`` with ``{"path": str, "id": int}``: one repetition is
  ``write_deltalake(path, one_row_table, mode="append")``, the one-row pyarrow table being built
  before the timing; answers ``{"ns": <duration>, "version": <table version after>}`` (the
  version is read after the timing).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from worker import finish, serve, timed  # noqa: E402

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("payload", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ]
)


def create(args: dict[str, object]) -> dict[str, object]:
    """Creates the empty table (commit 0)."""
    DeltaTable.create(str(args["path"]), schema=SCHEMA)
    return {}


def append(args: dict[str, object]) -> dict[str, int]:
    """One repetition: a one-row append through write_deltalake, by path."""
    path = str(args["path"])
    i = int(args["id"])  # type: ignore[arg-type]
    row = pa.Table.from_pylist(
        [{"id": i, "payload": f"event-{i}", "created_at": datetime.now(timezone.utc)}],
        schema=SCHEMA,
    )
    ns = timed(lambda: write_deltalake(path, row, mode="append"))
    return {"ns": ns, "version": DeltaTable(path).version()}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write("usage: append_latency.py serve\n")
        finish(2)
    serve({"create": create, "append": append})
