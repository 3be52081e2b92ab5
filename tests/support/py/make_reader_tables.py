"""Builds the delta-rs interop tables of the reader conformance suite.

Usage: python make_reader_tables.py <outdir>

For each table NAME this writes ``<outdir>/NAME/table`` (the Delta table, written by delta-rs)
and ``<outdir>/NAME/expected.json`` (what delta-rs itself reads for every version, in the output
format of read_table.py). The data is deterministic (fixed seeds and timestamps); commit times,
file names and table ids are not. Every column holds nulls somewhere.

Tables:
  plain         all supported primitive types plus struct, list and map; appends, an overwrite,
                a delete with a predicate and an update
  part_string   partitioned by a string with null, space, '/', '%', '=', ':', 'é' and a literal
                '%2F'
  part_int      partitioned by an int, with null, negatives and the int32 extremes
  part_date     partitioned by a date, with null
  checkpointed  15 appends, create_checkpoint(), 3 appends, a delete
  compacted     10 appends, optimize.compact(), 1 append
  vacuumed      appends, a delete, optimize.compact(), vacuum(retention 0): older versions
                whose files are gone fail in delta-rs too, and expected.json records the error
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish, read_versions  # noqa: E402

UTC = dt.timezone.utc

PLAIN_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("int_col", pa.int32()),
        ("short_col", pa.int16()),
        ("byte_col", pa.int8()),
        ("double_col", pa.float64()),
        ("float_col", pa.float32()),
        ("string_col", pa.string()),
        ("bool_col", pa.bool_()),
        ("binary_col", pa.binary()),
        ("date_col", pa.date32()),
        ("ts_col", pa.timestamp("us", tz="UTC")),
        ("dec_col", pa.decimal128(10, 2)),
        ("dec38_col", pa.decimal128(38, 18)),
        ("struct_col", pa.struct([("a", pa.int32()), ("b", pa.string())])),
        ("list_col", pa.list_(pa.int64())),
        ("map_col", pa.map_(pa.string(), pa.int32())),
    ]
)

SPECIAL_DOUBLES = [float("nan"), float("inf"), float("-inf"), -0.0, 1e21, 1e-7, 0.1, -2.5e300]
SPECIAL_STRINGS = ["", "quote \" and \\ backslash", "line\nbreak\ttab", "é ü ß", "emoji \U0001F600", "\x01ctl"]
SPECIAL_TIMESTAMPS = [
    dt.datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC),  # truncates to ...59.999
    dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    dt.datetime(2100, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    dt.datetime(1970, 1, 1, tzinfo=UTC),
]
SPECIAL_DATES = [dt.date(1, 1, 1), dt.date(1969, 12, 31), dt.date(9999, 12, 31), dt.date(2024, 2, 29)]


def plain_rows(start: int, count: int, seed: int) -> pa.Table:
    """Deterministic rows; column k is null where (row + k) % 6 == 0, so every column has nulls."""
    rng = random.Random(seed)
    base_ts = dt.datetime(2024, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    rows = []
    for n in range(start, start + count):
        j = n - start
        values: dict[str, Any] = {
            "id": n * 1_000_000_007 - 3,
            "int_col": rng.randint(-(2**31), 2**31 - 1) if j % 4 else n,
            "short_col": rng.randint(-(2**15), 2**15 - 1),
            "byte_col": rng.randint(-128, 127),
            "double_col": SPECIAL_DOUBLES[(n // 3) % len(SPECIAL_DOUBLES)] if j % 3 == 0 else rng.uniform(-1e6, 1e6),
            "float_col": rng.choice([0.1, -1.5, 3.4028234663852886e38, 1e-45, 2.0**-20]),
            "string_col": SPECIAL_STRINGS[j % len(SPECIAL_STRINGS)] + f" #{n}",
            "bool_col": rng.random() < 0.5,
            "binary_col": bytes([0, 255, n % 256]) + rng.randbytes(rng.randint(0, 5)),
            "date_col": SPECIAL_DATES[(j // 2) % len(SPECIAL_DATES)] if j % 2 else dt.date(2020, 1, 1) + dt.timedelta(days=n),
            "ts_col": SPECIAL_TIMESTAMPS[(j // 2) % len(SPECIAL_TIMESTAMPS)]
            if j % 2
            else base_ts + dt.timedelta(microseconds=rng.randint(-10**12, 10**12)),
            "dec_col": Decimal(f"{rng.randint(-(10**10) + 1, 10**10 - 1)}e-2"),
            "dec38_col": Decimal(f"{rng.randint(-(10**38) + 1, 10**38 - 1)}e-18")
            if j % 2
            else Decimal("-0.000000000000000001"),
            "struct_col": {"a": rng.randint(0, 99) if j % 3 else None, "b": f"s{n}"},
            "list_col": [rng.randint(-(2**63), 2**63 - 1), None, n][: j % 4],
            "map_col": [(f"k{i}", None if i == 1 else i * n) for i in range(j % 3)] + [("é", -1)],
        }
        for k, name in enumerate(PLAIN_SCHEMA.names):
            if (n + k) % 6 == 0:
                values[name] = None
        rows.append(values)
    return pa.Table.from_pylist(rows, schema=PLAIN_SCHEMA)


def simple_rows(start: int, count: int) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "value": pa.array([None if i % 5 == 4 else f"v{i}" for i in ids], pa.string()),
            "score": pa.array([None if i % 7 == 3 else i * 0.5 for i in ids], pa.float64()),
        }
    )


def partitioned_rows(part_type: pa.DataType, parts: list[Any], start: int) -> pa.Table:
    count = len(parts) * 2
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "p": pa.array([parts[i % len(parts)] for i in range(count)], part_type),
            "value": pa.array([None if i % 4 == 1 else i * 1.25 for i in ids], pa.float64()),
        }
    )


def build_plain(path: str) -> None:
    write_deltalake(path, plain_rows(0, 12, seed=1), mode="error")
    write_deltalake(path, plain_rows(12, 12, seed=2), mode="append")
    write_deltalake(path, plain_rows(24, 12, seed=3), mode="append")
    write_deltalake(path, plain_rows(100, 15, seed=4), mode="overwrite")
    write_deltalake(path, plain_rows(115, 9, seed=5), mode="append")
    table = DeltaTable(path)
    table.delete("int_col % 3 = 0")
    table.update(updates={"string_col": "'updated'", "short_col": "short_col + 1"}, predicate="id > 118000000000")


STRING_PARTS = [None, "plain", "a b", "a/b", "100%", "x=y", "c:d", "é", "a%2Fb"]


def build_part_string(path: str) -> None:
    write_deltalake(path, partitioned_rows(pa.string(), STRING_PARTS, 0), partition_by=["p"])
    write_deltalake(path, partitioned_rows(pa.string(), STRING_PARTS[::-1], 100), partition_by=["p"], mode="append")


def build_part_int(path: str) -> None:
    parts = [None, -5, 0, 7, 2**31 - 1, -(2**31)]
    write_deltalake(path, partitioned_rows(pa.int32(), parts, 0), partition_by=["p"])
    write_deltalake(path, partitioned_rows(pa.int32(), parts[1:3], 100), partition_by=["p"], mode="append")


def build_part_date(path: str) -> None:
    parts = [None, dt.date(1969, 12, 31), dt.date(1970, 1, 1), dt.date(2024, 2, 29), dt.date(2999, 12, 31)]
    write_deltalake(path, partitioned_rows(pa.date32(), parts, 0), partition_by=["p"])
    write_deltalake(path, partitioned_rows(pa.date32(), parts[:2], 100), partition_by=["p"], mode="append")


def build_checkpointed(path: str) -> None:
    for i in range(15):
        write_deltalake(path, simple_rows(i * 2, 2), mode="append")
    DeltaTable(path).create_checkpoint()
    for i in range(15, 18):
        write_deltalake(path, simple_rows(i * 2, 2), mode="append")
    DeltaTable(path).delete("id % 2 = 0")


def build_compacted(path: str) -> None:
    for i in range(10):
        write_deltalake(path, simple_rows(i * 3, 3), mode="append")
    DeltaTable(path).optimize.compact()
    write_deltalake(path, simple_rows(30, 3), mode="append")


def build_vacuumed(path: str) -> None:
    for i in range(4):
        write_deltalake(path, simple_rows(i * 4, 4), mode="append")
    DeltaTable(path).delete("id < 3")
    DeltaTable(path).optimize.compact()
    DeltaTable(path).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)


TABLES: dict[str, Callable[[str], None]] = {
    "plain": build_plain,
    "part_string": build_part_string,
    "part_int": build_part_int,
    "part_date": build_part_date,
    "checkpointed": build_checkpointed,
    "compacted": build_compacted,
    "vacuumed": build_vacuumed,
}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_reader_tables.py <outdir>")
    outdir = Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for name, build in TABLES.items():
        table_dir = outdir / name
        if table_dir.exists():
            shutil.rmtree(table_dir)
        table_dir.mkdir()
        table_path = str(table_dir / "table")
        t0 = time.monotonic()
        build(table_path)
        expected = read_versions(table_path)
        (table_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
        versions = expected["versions"]
        readable = [v for v, e in versions.items() if "rows" in e]
        latest = versions[str(expected["latest"])]
        latest_rows = len(latest["rows"]) if "rows" in latest else f"error ({latest['error']})"
        print(
            f"{name:13} latest v{expected['latest']:<3} readable {len(readable)}/{len(versions)} versions,"
            f" latest rows: {latest_rows}  ({time.monotonic() - t0:.1f}s)"
        )
    print(f"built {len(TABLES)} tables in {outdir} ({time.monotonic() - started:.1f}s)")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"make_reader_tables.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
