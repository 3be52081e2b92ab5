"""Writes the same table with pyarrow under many writer settings (format versions, data page
versions, dictionary on/off, INT96 timestamps, decimal encodings, legacy list naming, encodings,
codecs, tiny row groups and pages), and with DuckDB and Polars, so that the TypeScript reader can
be checked against what pyarrow reads from each file.

Usage: python write_reference.py <out_dir>

Prints one JSON object:
  {"schema": <Delta schema (JSON object) of the table>,
   "files": [{"name", "path", "columns": [...], "rows": [canonical rows]}]}
"rows" are what pyarrow reads back from that very file (tests/support/py/canonical.py form);
"columns" are the top-level columns the file holds (Polars cannot write maps).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support" / "py"))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from canonical import canonical_rows  # noqa: E402

UTC = dt.timezone.utc
D = decimal.Decimal


def _field(name: str, typ: Any, nullable: bool = True) -> dict[str, Any]:
    return {"name": name, "type": typ, "nullable": nullable, "metadata": {}}


def _struct(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "struct", "fields": list(fields)}


def _array(element: Any, contains_null: bool = True) -> dict[str, Any]:
    return {"type": "array", "elementType": element, "containsNull": contains_null}


def _map(key: Any, value: Any) -> dict[str, Any]:
    return {"type": "map", "keyType": key, "valueType": value, "valueContainsNull": True}


# (name, arrow type, Delta type, nullable)
COLUMNS: list[tuple[str, pa.DataType, Any, bool]] = [
    ("s", pa.string(), "string", True),
    ("l", pa.int64(), "long", False),
    ("i", pa.int32(), "integer", True),
    ("sh", pa.int16(), "short", True),
    ("by", pa.int8(), "byte", True),
    ("fl", pa.float32(), "float", True),
    ("db", pa.float64(), "double", True),
    ("bo", pa.bool_(), "boolean", True),
    ("bi", pa.binary(), "binary", True),
    ("d", pa.date32(), "date", True),
    ("ts", pa.timestamp("us", tz="UTC"), "timestamp", True),
    ("ts_ms", pa.timestamp("ms", tz="UTC"), "timestamp", True),
    ("ts_ns", pa.timestamp("ns", tz="UTC"), "timestamp", True),
    ("ntz", pa.timestamp("us"), "timestamp_ntz", True),
    ("d9", pa.decimal128(9, 2), "decimal(9,2)", True),
    ("d18", pa.decimal128(18, 4), "decimal(18,4)", True),
    ("d38", pa.decimal128(38, 18), "decimal(38,18)", True),
    ("d380", pa.decimal128(38, 0), "decimal(38,0)", True),
    (
        "st",
        pa.struct([("x", pa.int32()), pa.field("y", pa.string(), nullable=False)]),
        _struct(_field("x", "integer"), _field("y", "string", False)),
        True,
    ),
    ("arr", pa.list_(pa.string()), _array("string"), True),
    (
        "arrl",
        pa.list_(pa.field("element", pa.int64(), nullable=False)),
        _array("long", False),
        True,
    ),
    (
        "arrst",
        pa.list_(pa.struct([("p", pa.int64()), ("q", pa.decimal128(5, 1))])),
        _array(_struct(_field("p", "long"), _field("q", "decimal(5,1)"))),
        True,
    ),
    ("nested", pa.list_(pa.list_(pa.int32())), _array(_array("integer")), True),
    ("mp", pa.map_(pa.string(), pa.int64()), _map("string", "long"), True),
    ("mpi", pa.map_(pa.int32(), pa.timestamp("us", tz="UTC")), _map("integer", "timestamp"), True),
    (
        "mps",
        pa.map_(pa.string(), pa.struct([("a", pa.float64()), ("b", pa.binary())])),
        _map("string", _struct(_field("a", "double"), _field("b", "binary"))),
        True,
    ),
]

EDGE_ROWS: list[dict[str, Any]] = [
    {
        "s": "a\U0001f600é",
        "l": -(2**63),
        "i": -(2**31),
        "sh": -(2**15),
        "by": -128,
        "fl": 1.5,
        "db": float("nan"),
        "bo": True,
        "bi": bytes([0, 255, 16]),
        "d": dt.date(1, 1, 1),
        "ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC),
        "ts_ms": dt.datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
        "ts_ns": pa.scalar(-1, pa.timestamp("ns", tz="UTC")),
        "ntz": dt.datetime(2024, 2, 29, 12, 0, 0, 5_999),
        "d9": D("-1.50"),
        "d18": D("-12345678901234.5678"),
        "d38": D("-99999999999999999999.999999999999999999"),
        "d380": D("99999999999999999999999999999999999999"),
        "st": {"x": 1, "y": ""},
        "arr": ["a", None, ""],
        "arrl": [1, -(2**63)],
        "arrst": [{"p": 1, "q": D("-0.5")}, None, {"p": None, "q": None}],
        "nested": [[1, None], [], None],
        "mp": [("k", 1), ("n", None), ("\U0001f600", 2**63 - 1)],
        "mpi": [(-1, dt.datetime(1900, 1, 1, 0, 0, 0, 123_456, tzinfo=UTC)), (7, None)],
        "mps": [("x", {"a": float("-inf"), "b": b""}), ("y", None)],
    },
    {
        "s": None,
        "l": 2**63 - 1,
        "i": 2**31 - 1,
        "sh": 2**15 - 1,
        "by": 127,
        "fl": float("inf"),
        "db": float("-inf"),
        "bo": False,
        "bi": b"",
        "d": dt.date(9999, 12, 31),
        "ts": dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        "ts_ms": dt.datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
        "ts_ns": dt.datetime(2262, 4, 11, 23, 47, 16, tzinfo=UTC),
        "ntz": dt.datetime(1, 1, 1),
        "d9": D("9999999.99"),
        "d18": D("99999999999999.9999"),
        "d38": D("99999999999999999999.999999999999999999"),
        "d380": D("-99999999999999999999999999999999999999"),
        "st": None,
        "arr": [],
        "arrl": [],
        "arrst": [],
        "nested": [],
        "mp": [],
        "mpi": [],
        "mps": [],
    },
    {
        "s": "",
        "l": 0,
        "d": dt.date(1969, 12, 31),
        "ts": dt.datetime(1677, 9, 22, 0, 12, 43, 145_225, tzinfo=UTC),
        "ts_ns": dt.datetime(1677, 9, 22, 0, 12, 43, 145_225, tzinfo=UTC),
        "db": -0.0,
        "d9": D("0.00"),
        "d18": D("0.0001"),
        "d38": D("0.000000000000000001"),
        "d380": D("0"),
        "st": {"x": None, "y": "y"},
    },
]


def _bulk_row(i: int) -> dict[str, Any]:
    """Rows with repeating and distinct values, so writers choose dictionaries and pages."""
    return {
        "s": f"value {i % 37}",
        "l": i * 1_000_003 - 500_000_000,
        "i": i - 1000,
        "sh": i % 300 - 150,
        "by": i % 200 - 100,
        "fl": i / 8,
        "db": i * 0.1,
        "bo": i % 3 == 0,
        "bi": bytes([i % 256, (i * 7) % 256]),
        "d": dt.date(1950, 1, 1) + dt.timedelta(days=i * 17),
        "ts": dt.datetime(1960, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=i * 86_400_123_457),
        "ts_ms": dt.datetime(1960, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=i * 3_600_001),
        "ts_ns": dt.datetime(1960, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=i * 999_999),
        "ntz": dt.datetime(1960, 1, 1) + dt.timedelta(microseconds=i * 123_456_789),
        "d9": D(i * 7 - 3000) / 100,
        "d18": D(i * 12_345_679 - 10**9) / 10_000,
        "d38": D(i * 10**25 - 3) / 10**18,
        "d380": D(-(i**9)),
        "st": None if i % 11 == 0 else {"x": i if i % 2 else None, "y": f"y{i % 5}"},
        "arr": None if i % 13 == 0 else [f"e{j}" if j % 4 else None for j in range(i % 5)],
        "arrl": [i, -i] if i % 2 else [],
        "arrst": [{"p": i, "q": D(i % 100) / 10}] if i % 3 else None,
        "nested": [[j for j in range(i % 3)], None] if i % 4 else [],
        "mp": [(f"k{i % 3}", i)] if i % 5 else None,
        "mpi": [(i, dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i))],
        "mps": [("a", {"a": i / 3, "b": None})] if i % 2 else [],
    }


def reference_table() -> pa.Table:
    schema = pa.schema([pa.field(n, t, nullable=nullable) for n, t, _, nullable in COLUMNS])
    rows = EDGE_ROWS + [_bulk_row(i) for i in range(1, 500)]
    return pa.Table.from_pylist(rows, schema=schema)


def delta_schema(names: list[str] | None = None) -> dict[str, Any]:
    return _struct(
        *(_field(n, typ, nullable) for n, _, typ, nullable in COLUMNS if not names or n in names)
    )


ENCODINGS = {
    "l": "DELTA_BINARY_PACKED",
    "i": "DELTA_BINARY_PACKED",
    "s": "DELTA_BYTE_ARRAY",
    "bi": "DELTA_LENGTH_BYTE_ARRAY",
    "db": "BYTE_STREAM_SPLIT",
    "fl": "BYTE_STREAM_SPLIT",
}

PYARROW_VARIANTS: dict[str, dict[str, Any]] = {
    "pyarrow-default": {},
    "pyarrow-format-1.0": {"version": "1.0", "coerce_timestamps": "us", "allow_truncated_timestamps": True},
    "pyarrow-format-2.4": {"version": "2.4", "coerce_timestamps": "us", "allow_truncated_timestamps": True},
    "pyarrow-page-v2": {"data_page_version": "2.0"},
    "pyarrow-page-v2-no-dictionary": {"data_page_version": "2.0", "use_dictionary": False},
    "pyarrow-no-dictionary": {"use_dictionary": False},
    "pyarrow-int96": {"use_deprecated_int96_timestamps": True},
    "pyarrow-decimal-as-integer": {"store_decimal_as_integer": True},
    "pyarrow-legacy-nested-names": {"use_compliant_nested_type": False},
    "pyarrow-delta-encodings": {"use_dictionary": False, "column_encoding": ENCODINGS},
    "pyarrow-tiny-groups-and-pages": {
        "row_group_size": 7,
        "data_page_size": 128,
        "write_batch_size": 8,
        "write_page_index": True,
    },
    "pyarrow-no-statistics": {"write_statistics": False},
    "pyarrow-zstd": {"compression": "zstd"},
    "pyarrow-gzip": {"compression": "gzip"},
    "pyarrow-brotli": {"compression": "brotli"},
    "pyarrow-lz4": {"compression": "lz4"},
    "pyarrow-uncompressed": {"compression": "none"},
}


def main(out_dir: str) -> dict[str, Any]:
    out = Path(out_dir)
    table = reference_table()
    writers: dict[str, Callable[[Path], list[str]]] = {}

    for name, options in PYARROW_VARIANTS.items():

        def write(path: Path, options: dict[str, Any] = options) -> list[str]:
            pq.write_table(table, path, **options)
            return table.column_names

        writers[name] = write

    def write_duckdb(path: Path) -> list[str]:
        con = duckdb.connect()
        con.register("reference", table)
        con.execute(f"COPY reference TO '{path}' (FORMAT parquet)")
        return table.column_names

    def write_polars(path: Path, compression: str) -> list[str]:
        # Polars has no map type.
        columns = [c for c in table.column_names if not c.startswith("mp")]
        pl.from_arrow(table.select(columns)).write_parquet(path, compression=compression)
        return columns

    writers["duckdb"] = write_duckdb
    writers["polars-snappy"] = lambda path: write_polars(path, "snappy")
    writers["polars-default-zstd"] = lambda path: write_polars(path, "zstd")

    def write_empty(path: Path) -> list[str]:
        pq.write_table(table.slice(0, 0), path)
        return table.column_names

    writers["pyarrow-zero-rows"] = write_empty

    files = []
    for name, write in writers.items():
        path = out / f"{name}.parquet"
        columns = write(path)
        read = pq.read_table(path, coerce_int96_timestamp_unit="us")
        files.append(
            {
                "name": name,
                "path": str(path),
                "columns": columns,
                "rows": canonical_rows(read),
            }
        )
    return {"schema": delta_schema(), "files": files}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: write_reference.py <out_dir>")
    sys.stdout.write(json.dumps(main(sys.argv[1]), ensure_ascii=False) + "\n")
