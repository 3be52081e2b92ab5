"""Writes small Parquet files with pyarrow whose data pages hold every kind of RLE / bit-packed
hybrid stream, for the tests that damage one run header of each (run-checks.test.ts): data page
v1 and v2, UNCOMPRESSED and SNAPPY.

Columns: n (nullable long: definition levels), l (list of longs: repetition levels), k (required
string, dictionary-encoded: indices at the start of the values), f (required boolean, RLE).

Usage: python write_run_files.py <directory>

Prints a JSON object mapping each file name to its data page version and codec.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 300

SCHEMA = pa.schema(
    [
        pa.field("n", pa.int64()),
        pa.field("l", pa.list_(pa.int64())),
        pa.field("k", pa.string(), nullable=False),
        pa.field("f", pa.bool_(), nullable=False),
    ]
)


def main() -> None:
    out = Path(sys.argv[1])
    # Irregular values, so that a compressed page starts with a long literal (the tests damage
    # bytes inside it).
    rng = random.Random(20261126)
    table = pa.table(
        {
            "n": [None if rng.random() < 0.3 else i for i in range(ROWS)],
            "l": [None if rng.random() < 0.2 else list(range(rng.randrange(4))) for _ in range(ROWS)],
            "k": [f"key{rng.randrange(10)}" for _ in range(ROWS)],
            "f": [rng.random() < 0.5 for _ in range(ROWS)],
        },
        schema=SCHEMA,
    )
    files = {}
    for version in ("1.0", "2.0"):
        for codec in ("NONE", "SNAPPY"):
            name = f"v{version[0]}-{codec.lower()}.parquet"
            pq.write_table(
                table,
                out / name,
                data_page_version=version,
                compression=codec,
                use_dictionary=["k"],
                column_encoding={"f": "RLE"},
            )
            files[name] = {"version": version, "codec": codec}
    print(json.dumps(files))


if __name__ == "__main__":
    main()
