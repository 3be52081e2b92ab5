"""Runs SQL queries with delta-rs's DataFusion on a table and on a delta-rs copy of its rows.

Usage: python rs_sql.py <table_path> <queries.json> <copy_path>

Each query of the JSON list (SQL over the table registered as ``t``, selecting a column ``id``)
runs with ``QueryBuilder``, which prunes files by their stats, on the table; and on a copy of the
table's rows that delta-rs writes to ``<copy_path>`` as one file with its own stats (the
reference: delta-rs's answer from stats it computed itself). Prints
{"ours": [[id, ...], ...], "reference": [[id, ...], ...]}, one sorted list of ids (as strings)
per query.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, QueryBuilder, write_deltalake  # noqa: E402
from read_table import finish  # noqa: E402
from rs_write import SNAPPY  # noqa: E402


def answers(path: str, queries: list[str]) -> list[list[str]]:
    builder = QueryBuilder().register("t", DeltaTable(path))
    out = []
    for sql in queries:
        result = pa.table(builder.execute(sql).read_all())
        out.append([str(i) for i in sorted(result.column("id").to_pylist())])
    return out


def main() -> None:
    path, queries_file, copy = sys.argv[1], sys.argv[2], sys.argv[3]
    queries = json.loads(Path(queries_file).read_text())
    write_deltalake(copy, DeltaTable(path).to_pyarrow_table(), writer_properties=SNAPPY)
    print(json.dumps({"ours": answers(path, queries), "reference": answers(copy, queries)}))
    finish()


if __name__ == "__main__":
    main()
