"""delta-rs side of the OPTIMIZE interop suite (tests/interop/optimize.test.ts).

Usage:
  python optimize_tables.py build <outdir>
      Builds delta-rs tables and what delta-rs reads at each of their versions:
        rs_compact   partitioned by a string; appends, optimize.compact(), one more append
        rs_zorder    appends, optimize.z_order(["user_id", "action"]), one more append
        rs_source    appends only (microsecond timestamps, decimals, ...): our engine optimizes it
      Each as <outdir>/NAME/table plus <outdir>/NAME/expected.json (read_table.py format).
  python optimize_tables.py same <table> <version_a> <version_b>
      Whether two versions hold the same rows at full precision (pyarrow equality after sorting
      by the unique `id`), e.g. microseconds kept by a compaction: prints {"same": bool, "rows": n}.
  python optimize_tables.py info <table>
      The latest commitInfo delta-rs reports in history(): prints it as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish, read_versions  # noqa: E402

UTC = dt.timezone.utc
BASE = dt.datetime(2024, 3, 1, tzinfo=UTC)

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("p", pa.string()),
        ("user_id", pa.string()),
        ("action", pa.string()),
        ("n", pa.int32()),
        ("x", pa.float64()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("d", pa.date32()),
        ("amount", pa.decimal128(12, 3)),
        ("flag", pa.bool_()),
    ]
)


def rows(start: int, count: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    out = []
    for i in range(start, start + count):
        out.append(
            {
                "id": i,
                "p": [None, "a", "b c", "é/x"][i % 4],
                "user_id": None if i % 11 == 5 else f"user-{rng.randrange(40):04d}",
                "action": None if i % 13 == 7 else f"action.{rng.randrange(6)}",
                "n": None if i % 9 == 2 else rng.randrange(-1000, 1000),
                "x": None if i % 8 == 3 else rng.uniform(-1e6, 1e6),
                # Microseconds that a millisecond representation would lose.
                "ts": None if i % 10 == 4 else BASE + dt.timedelta(microseconds=rng.randrange(10**12)),
                "d": None if i % 12 == 1 else dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(400)),
                "amount": None if i % 7 == 6 else Decimal(rng.randrange(-(10**9), 10**9)) / 1000,
                "flag": None if i % 6 == 0 else bool(rng.randrange(2)),
            }
        )
    return pa.Table.from_pylist(out, schema=SCHEMA)


def build_compact(path: str) -> None:
    for k in range(6):
        write_deltalake(path, rows(k * 20, 20, k), partition_by=["p"], mode="append")
    DeltaTable(path).optimize.compact()
    write_deltalake(path, rows(1000, 8, 99), partition_by=["p"], mode="append")


def build_zorder(path: str) -> None:
    for k in range(6):
        write_deltalake(path, rows(k * 50, 50, k + 10), mode="append")
    DeltaTable(path).optimize.z_order(["user_id", "action"], target_size=4000)
    write_deltalake(path, rows(2000, 5, 98), mode="append")


def build_source(path: str) -> None:
    for k in range(5):
        write_deltalake(path, rows(k * 30, 30, k + 20), mode="append")


TABLES = {"rs_compact": build_compact, "rs_zorder": build_zorder, "rs_source": build_source}


def build(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for name, make in TABLES.items():
        table_dir = outdir / name
        shutil.rmtree(table_dir, ignore_errors=True)
        table_dir.mkdir()
        path = str(table_dir / "table")
        make(path)
        (table_dir / "expected.json").write_text(json.dumps(read_versions(path)) + "\n", encoding="utf-8")
    print(json.dumps({"built": list(TABLES)}))


def same(path: str, a: int, b: int) -> None:
    def sorted_table(version: int) -> pa.Table:
        table = DeltaTable(path, version=version).to_pyarrow_table()
        return table.select(sorted(table.column_names)).sort_by([("id", "ascending")])

    left, right = sorted_table(a), sorted_table(b)
    print(json.dumps({"same": left.equals(right), "rows": left.num_rows}))


def info(path: str) -> None:
    print(json.dumps(DeltaTable(path).history(1)[0], default=str))


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "build" and len(sys.argv) == 3:
        build(Path(sys.argv[2]))
    elif command == "same" and len(sys.argv) == 5:
        same(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif command == "info" and len(sys.argv) == 3:
        info(sys.argv[2])
    else:
        sys.stderr.write(__doc__ or "")
        finish(2)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"optimize_tables.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
