"""Microsecond timestamps between delta-rs and our engine (tests/interop/timestamps.test.ts).

Usage:
  python rs_micros.py write <table_path>
      delta-rs creates the table (id long, ts timestamp, ntz timestamp_ntz, partitioned by
      pts timestamp) in three appends of rows whose timestamps have microseconds.
  python rs_micros.py read <table_path>
      prints {"latest": N, "versions": {"V": [[id, ts, ntz, pts], ...]}}: every version as
      delta-rs reads it, rows sorted by id, timestamps as epoch microseconds in strings (or null).
  python rs_micros.py query <table_path> <predicates.json>
      runs `SELECT id FROM t WHERE <column> <op> <microseconds>` with delta-rs's DataFusion
      (which prunes files by their stats) for each {"column", "op", "micros"} of the file and
      prints the sorted ids of each, as strings.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, QueryBuilder, write_deltalake  # noqa: E402
from read_table import finish  # noqa: E402
from rs_write import SNAPPY  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("ntz", pa.timestamp("us")),
        ("pts", pa.timestamp("us", tz="UTC")),
    ]
)
ARROW_TYPES = {
    "ts": 'Timestamp(Microsecond, Some("UTC"))',
    "ntz": "Timestamp(Microsecond, None)",
    "pts": 'Timestamp(Microsecond, Some("UTC"))',
}
OPS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def write(path: str) -> None:
    rng = random.Random(20261126)
    partitions = [BASE + dt.timedelta(microseconds=p * 1_000_001) for p in range(3)]
    for commit in range(3):
        rows: dict[str, list[Any]] = {"id": [], "ts": [], "ntz": [], "pts": []}
        for k in range(15):
            i = commit * 15 + k
            # Values a few milliseconds apart, so that files' millisecond stats overlap.
            ts = BASE + dt.timedelta(microseconds=rng.randrange(5_000))
            rows["id"].append(i)
            rows["ts"].append(None if i % 11 == 10 else ts)
            rows["ntz"].append((ts - dt.timedelta(days=20_000, microseconds=7)).replace(tzinfo=None))
            rows["pts"].append(partitions[i % 3])
        table = pa.table(rows, schema=SCHEMA)
        write_deltalake(path, table, mode="append", partition_by=["pts"], writer_properties=SNAPPY)


def micros(value: Any) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def read(path: str) -> dict[str, Any]:
    latest = DeltaTable(path).version()
    versions: dict[str, Any] = {}
    for v in range(latest + 1):
        table = DeltaTable(path, version=v).to_pyarrow_table()
        rows = [
            [str(r["id"]), micros(r["ts"]), micros(r["ntz"]), micros(r["pts"])]
            for r in table.to_pylist()
        ]
        versions[str(v)] = sorted(rows, key=lambda r: int(r[0]))
    return {"latest": latest, "versions": versions}


def query(path: str, predicates_file: str) -> list[list[str]]:
    predicates = json.loads(Path(predicates_file).read_text())
    builder = QueryBuilder().register("t", DeltaTable(path))
    out = []
    for p in predicates:
        literal = f"arrow_cast({int(p['micros'])}, '{ARROW_TYPES[p['column']]}')"
        sql = f"SELECT id FROM t WHERE {p['column']} {OPS[p['op']]} {literal}"
        result = pa.table(builder.execute(sql).read_all())
        ids = sorted(result.column("id").to_pylist())
        out.append([str(i) for i in ids])
    return out


def main() -> None:
    command, path = sys.argv[1], sys.argv[2]
    if command == "write":
        write(path)
        print("{}")
    elif command == "read":
        print(json.dumps(read(path)))
    elif command == "query":
        print(json.dumps(query(path, sys.argv[3])))
    else:
        raise SystemExit(f"unknown command {command}")
    finish()


if __name__ == "__main__":
    main()
