"""Reads Parquet files with pyarrow and prints, for each, a Delta schema equivalent to its Arrow
schema and its rows in canonical form, so that our reader can be checked on files we did not
write (Spark and delta-rs data files and checkpoints of the golden tables).

Usage: python describe_files.py <file.parquet>...

Prints one JSON object mapping each path to
  {"schema": <Delta schema JSON object>, "rows": [canonical rows]}
or {"error": "<message>"} when pyarrow cannot read the file or a type has no Delta equivalent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support" / "py"))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from canonical import canonical_rows  # noqa: E402

_PRIMITIVES = {
    pa.int8(): "byte",
    pa.int16(): "short",
    pa.int32(): "integer",
    pa.int64(): "long",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
    pa.date32(): "date",
}


def delta_type(typ: pa.DataType) -> Any:
    """The Delta type of an Arrow type (as pyarrow reads Parquet)."""
    if typ in _PRIMITIVES:
        return _PRIMITIVES[typ]
    t = pa.types
    if t.is_null(typ):
        return "void"
    if t.is_timestamp(typ):
        return "timestamp" if typ.tz is not None else "timestamp_ntz"
    if t.is_decimal(typ):
        return f"decimal({typ.precision},{typ.scale})"
    if t.is_struct(typ):
        return {"type": "struct", "fields": [delta_field(typ.field(i)) for i in range(typ.num_fields)]}
    if t.is_map(typ):
        return {
            "type": "map",
            "keyType": delta_type(typ.key_type),
            "valueType": delta_type(typ.item_type),
            "valueContainsNull": typ.item_field.nullable,
        }
    if t.is_list(typ) or t.is_large_list(typ):
        return {
            "type": "array",
            "elementType": delta_type(typ.value_type),
            "containsNull": typ.value_field.nullable,
        }
    raise TypeError(f"no Delta type for {typ}")


def delta_field(field: pa.Field) -> dict[str, Any]:
    return {
        "name": field.name,
        "type": delta_type(field.type),
        "nullable": field.nullable,
        "metadata": {},
    }


def describe(path: str) -> dict[str, Any]:
    try:
        table = pq.read_table(path, coerce_int96_timestamp_unit="us")
        return {
            "schema": {"type": "struct", "fields": [delta_field(f) for f in table.schema]},
            "rows": canonical_rows(table) if table.num_rows else [],
        }
    except Exception as error:  # reported to the caller as data
        return {"error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    sys.stdout.write(
        json.dumps({p: describe(p) for p in sys.argv[1:]}, ensure_ascii=False) + "\n"
    )
