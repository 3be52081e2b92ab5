"""delta-rs builds a table, adds columns to it with ``alter.add_columns``, and appends rows that set them.

Usage: python rs_add_columns.py <table_path>

Commits, with delta-rs: version 0 creates the table (``id`` long, ``name`` string) with three
rows; version 1 adds the columns ``email`` (string, with a comment), ``score`` (long), ``address``
(struct of ``city`` string), ``tags`` (array of string) and ``local`` (timestamp_ntz, which makes
delta-rs add the timestampNtz feature); version 2 appends two rows, one setting every new column
and one leaving them null. It then prints the read_table.py output (delta-rs's own read of every
version).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from deltalake.schema import ArrayType, Field, PrimitiveType, StructType  # noqa: E402
from read_table import finish, read_versions  # noqa: E402
from rs_write import SNAPPY  # noqa: E402


def main() -> None:
    path = sys.argv[1]
    first = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(["ann", "bob", None], pa.string()),
        }
    )
    write_deltalake(path, first, writer_properties=SNAPPY)
    DeltaTable(path).alter.add_columns(
        [
            Field("email", PrimitiveType("string"), metadata={"comment": "contact address"}),
            Field("score", PrimitiveType("long")),
            Field("address", StructType([Field("city", PrimitiveType("string"))])),
            Field("tags", ArrayType(PrimitiveType("string"))),
            Field("local", PrimitiveType("timestamp_ntz")),
        ]
    )
    schema = pa.schema(DeltaTable(path).schema().to_arrow())
    rows = [
        {
            "id": 4,
            "name": "cat",
            "email": "cat@example.com",
            "score": 7,
            "address": {"city": "Oslo"},
            "tags": ["a", None],
            "local": dt.datetime(2026, 1, 2, 3, 4, 5, 678_901),
        },
        {"id": 5, "name": "dan"},
    ]
    write_deltalake(
        path, pa.Table.from_pylist(rows, schema=schema), mode="append", writer_properties=SNAPPY
    )
    sys.stdout.write(json.dumps(read_versions(path)) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"rs_add_columns.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
