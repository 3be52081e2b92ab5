"""Writes a small pyarrow Parquet file (tests/delta/parquet/interop.test.ts: footer damage).

Usage: python write_small.py <file_path>

Three rows of `a int64, s string` (one null), without statistics or a stored Arrow schema, so
the footer is pyarrow's own Thrift and nothing else. Prints {"path": ...}.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    path = sys.argv[1]
    table = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "s": pa.array(["x", None, "yz"])})
    pq.write_table(table, path, write_statistics=False, store_schema=False)
    print(json.dumps({"path": path}))


if __name__ == "__main__":
    main()
