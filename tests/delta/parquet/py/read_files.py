"""Reads Parquet files with pyarrow and prints their rows in canonical form.

Usage: python read_files.py <file.parquet>...

Prints one JSON object mapping each path to {"rows": [canonical rows]} or {"error": "<message>"}
(the canonical form of tests/support/py/canonical.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support" / "py"))

import pyarrow.parquet as pq  # noqa: E402
from canonical import canonical_rows  # noqa: E402


def read(path: str) -> dict[str, object]:
    try:
        table = pq.read_table(path)
        return {"rows": canonical_rows(table) if table.num_rows else []}
    except Exception as error:  # reported to the caller as data
        return {"error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    sys.stdout.write(
        json.dumps({p: read(p) for p in sys.argv[1:]}, ensure_ascii=False) + "\n"
    )
