"""delta-rs appends to and deletes from a table written by our engine, then reads every version.

Usage: python rs_append_delete.py <table_path>

The table has the schema of tests/interop/dml.test.ts (partitioned by ``p`` or not). This script
commits, with delta-rs: an append, a delete by a data predicate, a delete by ``p``, and another
append. It then prints the read_table.py output (delta-rs's own read of every version).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish, read_versions  # noqa: E402
from rs_write import SNAPPY  # noqa: E402

UTC = dt.timezone.utc
PARTS = ["a", "b", None]


def row(n: int) -> dict[str, Any]:
    """A row with every column set, and nulls in most columns where n % 7 == 0."""
    blank = n % 7 == 0
    return {
        "id": n,
        "p": PARTS[n % 3],
        "i": None if blank else n * 3 - 50,
        "sh": None if blank else n % 300,
        "b": None if blank else n % 100 - 50,
        "f": None if blank else n * 0.5,
        "d": None if blank else n / 3,
        "bo": None if blank else n % 2 == 0,
        "bin": None if blank else bytes([n % 256, 255, 0]),
        "dt": None if blank else dt.date(2024, 2, 29) + dt.timedelta(days=n),
        "ts": None if blank else dt.datetime(2024, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
        + dt.timedelta(hours=n),
        "dec": None if blank else Decimal(n) + Decimal("0.25"),
        "st": None if blank else {"a": n, "b": f"x{n}"},
        "arr": None if blank else [n, None],
        "m": None if blank else [("k", n), ("z", None)],
    }


def append(path: str, ids: range) -> None:
    schema = pa.schema(DeltaTable(path).schema().to_arrow())
    table = pa.Table.from_pylist([row(n) for n in ids], schema=schema)
    write_deltalake(path, table, mode="append", writer_properties=SNAPPY)


def main() -> None:
    path = sys.argv[1]
    append(path, range(1000, 1012))
    DeltaTable(path).delete("i > 2955 AND id < 1008", writer_properties=SNAPPY)
    DeltaTable(path).delete("p = 'b'", writer_properties=SNAPPY)
    append(path, range(2000, 2004))
    result = read_versions(path)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"rs_append_delete.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
