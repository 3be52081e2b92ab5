"""Writes the delta-rs table of the `update` benchmark and checks it against ours.

Usage:
  python update_generate.py <table_path> --rows N --batch B --compare <our_table_path>

Rows ``i = 0 .. N-1`` (the same formula as ``rowsOf`` in bench/update.bench.ts):
  id long (not null) = i, user string = "user-{i % 10007}", amount double =
  (i * 37 % 100000) / 100, note string = "note {i}", ts timestamp[us, UTC] =
  2026-01-01T00:00:00Z + i seconds.
They are written with ``write_deltalake(..., mode="append")`` in N / B appends of B rows in id
order (delta-rs writes one file per append at this size: versions 0 .. N/B - 1). Then both tables
are read whole and compared column by column (sorted by id). Prints one JSON object of facts
(both layouts, the delta-rs write time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from worker import finish  # noqa: E402

BASE_US = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("user", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("note", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
    ]
)


def batch(start: int, end: int) -> pa.Table:
    ids = range(start, end)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "user": pa.array([f"user-{i % 10007}" for i in ids], pa.string()),
            "amount": pa.array([(i * 37 % 100000) / 100 for i in ids], pa.float64()),
            "note": pa.array([f"note {i}" for i in ids], pa.string()),
            "ts": pa.array([BASE_US + i * 1_000_000 for i in ids], pa.timestamp("us", tz="UTC")),
        },
        schema=SCHEMA,
    )


def layout(table: DeltaTable) -> dict[str, object]:
    files = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    return {
        "version": table.version(),
        "files": len(files["path"]),
        "bytes": sum(files["size_bytes"]),
        "rows": sum(files["num_records"]),
    }


def compare(ours: DeltaTable, theirs: DeltaTable) -> None:
    a = ours.to_pyarrow_table().sort_by("id")
    b = theirs.to_pyarrow_table().sort_by("id")
    if a.num_rows != b.num_rows:
        raise ValueError(f"row counts differ: ours {a.num_rows}, delta-rs {b.num_rows}")
    for field in SCHEMA:
        x = a.column(field.name).cast(field.type)
        y = b.column(field.name)
        if not pc.all(pc.equal(x, y)).as_py() or x.null_count != y.null_count:
            raise ValueError(f"column {field.name} differs between the two tables")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--compare", required=True)
    args = parser.parse_args()
    start_ns = time.perf_counter_ns()
    for start in range(0, args.rows, args.batch):
        write_deltalake(args.path, batch(start, min(args.rows, start + args.batch)), mode="append")
    write_ms = (time.perf_counter_ns() - start_ns) / 1e6
    theirs = DeltaTable(args.path)
    ours = DeltaTable(args.compare)
    compare(ours, theirs)
    result = {
        "deltaRs": layout(theirs),
        "ours": layout(ours),
        "deltaRsWriteMs": write_ms,
        "identical": True,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"update_generate.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
