"""Reads a Parquet file written by our engine with pyarrow, DuckDB and Polars, and a Delta table
holding it with delta-rs, and prints what each engine sees.

Usage: python read_ours.py <file.parquet> <delta_table_dir>

Prints one JSON object:
  {"arrow_schema": [{"name", "type", "nullable"}],   # pyarrow's view of the file schema
   "pyarrow_rows": [...], "duckdb_rows": [...], "delta_rows": [...],
   "polars_rows": [...], "polars_columns": [...],     # Polars has no map type: maps are left out
   "statistics": {"with_bounds": n, "problems": [...]}}
"statistics" checks the footer statistics of every top-level primitive column chunk as pyarrow
reads them: the null count is exact, and min/max bound the non-null values (NaN aside).
Rows use the canonical form of tests/support/py/canonical.py.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support" / "py"))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from canonical import canonical_rows  # noqa: E402
from deltalake import DeltaTable  # noqa: E402


def _has_map(typ: pa.DataType) -> bool:
    if pa.types.is_map(typ):
        return True
    if pa.types.is_struct(typ):
        return any(_has_map(typ.field(i).type) for i in range(typ.num_fields))
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return _has_map(typ.value_type)
    return False


def _rows(table: pa.Table) -> list[str]:
    # canonical_rows cannot concatenate the zero chunks of an empty DuckDB result.
    return canonical_rows(table) if table.num_rows else []


def _statistics(path: str) -> dict[str, object]:
    file = pq.ParquetFile(path)
    table = file.read()
    problems: list[str] = []
    with_bounds = 0
    offset = 0
    for g in range(file.metadata.num_row_groups):
        group = file.metadata.row_group(g)
        rows = table.slice(offset, group.num_rows)
        offset += group.num_rows
        for c in range(group.num_columns):
            chunk = group.column(c)
            name = chunk.path_in_schema
            stats = chunk.statistics
            if "." in name or stats is None:
                continue
            present = [v for v in rows.column(name).to_pylist() if v is not None]
            where = f"row group {g}, column {name}"
            if stats.has_null_count and stats.null_count != group.num_rows - len(present):
                problems.append(f"{where}: null count {stats.null_count}")
            values = [v for v in present if not (isinstance(v, float) and math.isnan(v))]
            if not stats.has_min_max:
                continue
            with_bounds += 1
            if values and (stats.min > min(values) or stats.max < max(values)):
                problems.append(f"{where}: [{stats.min!r}, {stats.max!r}] misses a value")
    return {"with_bounds": with_bounds, "problems": problems}


def main(path: str, table_dir: str) -> dict[str, object]:
    schema = pq.read_schema(path)
    con = duckdb.connect()
    duck = con.sql("SELECT * FROM read_parquet($path)", params={"path": path}).to_arrow_table()
    polars_columns = [f.name for f in schema if not _has_map(f.type)]
    polars_table = pl.read_parquet(path, columns=polars_columns).to_arrow()
    return {
        "arrow_schema": [
            {"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema
        ],
        "pyarrow_rows": _rows(pq.read_table(path)),
        "duckdb_rows": _rows(duck),
        "delta_rows": _rows(DeltaTable(table_dir).to_pyarrow_table()),
        "polars_rows": _rows(polars_table),
        "polars_columns": polars_columns,
        "statistics": _statistics(path),
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: read_ours.py <file.parquet> <delta_table_dir>")
    sys.stdout.write(json.dumps(main(sys.argv[1], sys.argv[2]), ensure_ascii=False) + "\n")
