"""Reads every (or selected) version of a Delta table with delta-rs and prints canonical rows.

Usage: python read_table.py <table_path> [--versions all|N,M,...]

Prints one JSON object:
  {"latest": N,
   "versions": {"N": {"schema": <Delta schema JSON string>, "rows": [canonical row, ...]}
                     | {"error": "<ExceptionType>: <message>"}}}
Rows use the canonical form of canonical.py (the same as tests/support/canonical.ts). A version
that delta-rs cannot read (files removed by vacuum, log gaps, ...) gets an "error" entry, with the
table path in the message replaced by "<table>".
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from canonical import canonical_rows  # noqa: E402
from deltalake import DeltaTable  # noqa: E402


def _error_text(error: BaseException, table_path: str) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    for path in {table_path, str(Path(table_path).resolve())}:
        message = message.replace(path, "<table>")
    return f"{type(error).__name__}: {message}"


def read_version(table_path: str, version: int) -> dict[str, Any]:
    """Schema and canonical rows of one version, or the error delta-rs reports."""
    try:
        table = DeltaTable(table_path, version=version)
        schema = table.schema().to_json()
        rows = canonical_rows(table.to_pyarrow_table())
        return {"schema": schema, "rows": rows}
    except Exception as error:  # every failure is data for the caller
        return {"error": _error_text(error, table_path)}


def read_versions(table_path: str, versions: list[int] | None = None) -> dict[str, Any]:
    """The read_table.py output for ``versions`` (all versions 0..latest when None)."""
    latest = DeltaTable(table_path).version()
    wanted = range(latest + 1) if versions is None else versions
    result = {"latest": latest, "versions": {str(v): read_version(table_path, v) for v in wanted}}
    # delta-rs/pyarrow threads can abort the interpreter at exit while tables are still alive.
    gc.collect()
    return result


def finish(code: int = 0) -> None:
    """Flushes output and exits without running interpreter teardown.

    deltalake 1.6 with pyarrow 26 aborts ("terminate called without an active exception") during
    interpreter shutdown after to_pyarrow_table(); the results are already written by then, so
    skip the teardown instead of reporting a crash.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table_path")
    parser.add_argument("--versions", default="all", help="all, or a comma-separated list")
    args = parser.parse_args()
    versions = None
    if args.versions != "all":
        versions = [int(v) for v in args.versions.split(",") if v.strip() != ""]
    result = read_versions(args.table_path, versions)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"read_table.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
