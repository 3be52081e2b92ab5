"""Writes V1 checkpoint files in many Parquet layouts with pyarrow, for the column-wise
checkpoint decoder's differential tests.

Usage: python checkpoint_variants.py <out_dir> [<checkpoint.parquet> ...]

Writes a synthetic checkpoint (every action type, nulls, empty and null maps and lists, unicode,
large numbers, deletion vectors, tombstones), a malformed one (required fields null), a variant
with REQUIRED fields, and every given checkpoint file, each rewritten under every writer
setting (dictionary on/off, v1/v2 data pages, tiny pages, tiny row groups, codecs, legacy list
naming). Prints one JSON object: {"files": [{"name", "path"}]}.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

STRING_MAP = pa.map_(pa.string(), pa.string())
STRINGS = pa.list_(pa.string())
DV = pa.struct(
    [
        ("storageType", pa.string()),
        ("pathOrInlineDv", pa.string()),
        ("offset", pa.int32()),
        ("sizeInBytes", pa.int32()),
        ("cardinality", pa.int64()),
    ]
)


def _schema(required: bool) -> pa.Schema:
    """The checkpoint schema; with ``required``, fields that are never null are REQUIRED."""
    nn = not required
    return pa.schema(
        [
            (
                "protocol",
                pa.struct(
                    [
                        ("minReaderVersion", pa.int32()),
                        ("minWriterVersion", pa.int32()),
                        ("readerFeatures", STRINGS),
                        ("writerFeatures", STRINGS),
                    ]
                ),
            ),
            (
                "metaData",
                pa.struct(
                    [
                        ("id", pa.string()),
                        ("name", pa.string()),
                        ("description", pa.string()),
                        (
                            "format",
                            pa.struct([("provider", pa.string()), ("options", STRING_MAP)]),
                        ),
                        ("schemaString", pa.string()),
                        ("partitionColumns", STRINGS),
                        ("createdTime", pa.int64()),
                        ("configuration", STRING_MAP),
                    ]
                ),
            ),
            (
                "txn",
                pa.struct(
                    [
                        ("appId", pa.string()),
                        ("version", pa.int64()),
                        ("lastUpdated", pa.int64()),
                    ]
                ),
            ),
            (
                "add",
                pa.struct(
                    [
                        pa.field("path", pa.string(), nullable=nn),
                        pa.field("partitionValues", STRING_MAP, nullable=nn),
                        pa.field("size", pa.int64(), nullable=nn),
                        ("modificationTime", pa.int64()),
                        ("dataChange", pa.bool_()),
                        ("stats", pa.string()),
                        ("tags", STRING_MAP),
                        ("deletionVector", DV),
                        ("baseRowId", pa.int64()),
                        ("defaultRowCommitVersion", pa.int64()),
                        ("clusteringProvider", pa.string()),
                    ]
                ),
            ),
            (
                "remove",
                pa.struct(
                    [
                        ("path", pa.string()),
                        ("deletionTimestamp", pa.int64()),
                        ("dataChange", pa.bool_()),
                        ("extendedFileMetadata", pa.bool_()),
                        ("partitionValues", STRING_MAP),
                        ("size", pa.int64()),
                        ("stats", pa.string()),
                        ("tags", STRING_MAP),
                        ("deletionVector", DV),
                        ("baseRowId", pa.int64()),
                        ("defaultRowCommitVersion", pa.int64()),
                    ]
                ),
            ),
            (
                "domainMetadata",
                pa.struct(
                    [
                        ("domain", pa.string()),
                        ("configuration", pa.string()),
                        ("removed", pa.bool_()),
                    ]
                ),
            ),
        ]
    )


NAMES = ["protocol", "metaData", "txn", "add", "remove", "domainMetadata"]


def _row(**action: Any) -> dict[str, Any]:
    return {name: action.get(name) for name in NAMES}


def _add(i: int) -> dict[str, Any]:
    pv: list[tuple[str, str | None]] = [("date", f"2024-01-{i % 28 + 1:02d}")]
    if i % 3 == 0:
        pv.append(("region", None))
    if i % 5 == 0:
        pv.append(("city", "Zürich 日本 😀"))
    add: dict[str, Any] = {
        "path": f"date=2024-01-{i % 28 + 1:02d}/part-{i:05d}-é😀.parquet",
        "partitionValues": [] if i % 11 == 0 else pv,
        "size": 2**53 + 2 * i if i % 13 == 0 else 1000 + i,
        "modificationTime": -5 if i % 17 == 0 else 1_700_000_000_000 + i,
        "dataChange": i % 2 == 0,
        "stats": None if i % 7 == 0 else json.dumps({"numRecords": i, "minValues": {"a": "x" * (i % 50)}}),
        "tags": None if i % 4 else [("INSERTION_TIME", str(i)), ("k", None)],
        "deletionVector": None,
        "baseRowId": i * 10 if i % 6 == 0 else None,
        "defaultRowCommitVersion": i if i % 6 == 0 else None,
        "clusteringProvider": "liquid" if i % 9 == 0 else None,
    }
    if i % 8 == 0:
        add["deletionVector"] = {
            "storageType": "u" if i % 16 else "i",
            "pathOrInlineDv": f"ab^-aqEH.-t@S}}K{{vb[*k{i}",
            "offset": None if i % 16 == 0 else i,
            "sizeInBytes": 36,
            "cardinality": i + 1,
        }
    return add


def _remove(i: int) -> dict[str, Any]:
    return {
        "path": f"old/part-{i:05d}.parquet",
        "deletionTimestamp": 1_700_000_000_000 - i,
        "dataChange": i % 2 == 1,
        "extendedFileMetadata": None if i % 3 == 0 else True,
        "partitionValues": None if i % 3 == 0 else [("date", None)],
        "size": None if i % 3 == 0 else i,
        "stats": '{"numRecords":1}',
        "tags": None,
        "deletionVector": None,
        "baseRowId": None,
        "defaultRowCommitVersion": None,
    }


def synthetic_rows() -> list[dict[str, Any]]:
    rows = [
        _row(
            protocol={
                "minReaderVersion": 3,
                "minWriterVersion": 7,
                "readerFeatures": ["deletionVectors"],
                "writerFeatures": ["deletionVectors", "domainMetadata", "appendOnly"],
            }
        ),
        _row(
            metaData={
                "id": "6f1e7d5a-0000-4000-8000-000000000000",
                "name": None,
                "description": "a table — with ünicode",
                "format": {"provider": "parquet", "options": []},
                "schemaString": json.dumps(
                    {
                        "type": "struct",
                        "fields": [
                            {"name": "a", "type": "string", "nullable": True, "metadata": {}},
                            {"name": "date", "type": "string", "nullable": True, "metadata": {}},
                            {"name": "region", "type": "string", "nullable": True, "metadata": {}},
                            {"name": "city", "type": "string", "nullable": True, "metadata": {}},
                        ],
                    }
                ),
                "partitionColumns": ["date"],
                "createdTime": 1_700_000_000_000,
                "configuration": [("delta.checkpointInterval", "3"), ("x", "")],
            }
        ),
        _row(txn={"appId": "app-1", "version": 42, "lastUpdated": None}),
        _row(txn={"appId": "app-2", "version": 2**40, "lastUpdated": 1_700_000_000_000}),
        _row(domainMetadata={"domain": "delta.rowTracking", "configuration": "{}", "removed": False}),
    ]
    for i in range(240):
        rows.append(_row(add=_add(i)))
        if i % 10 == 5:
            rows.append(_row(remove=_remove(i)))
        if i % 50 == 25:
            rows.append(_row())  # a row with no action at all
    return rows


def malformed_rows() -> list[dict[str, Any]]:
    rows = synthetic_rows()[:30]
    bad = [
        {**_add(1000), "path": None},
        {**_add(1001), "size": None},
        {**_add(1002), "partitionValues": None},
        {**_add(1003), "dataChange": None},
    ]
    rows[10] = _row(add=bad[0])
    rows[12] = _row(add=bad[1])
    rows[14] = _row(add=bad[2])
    rows[16] = _row(remove={**_remove(7), "dataChange": None})
    rows[18] = _row(add=bad[3])
    dv_bad = _add(8)
    dv_bad["deletionVector"] = {**dv_bad["deletionVector"], "storageType": None, "sizeInBytes": None}
    rows[20] = _row(add=dv_bad)
    return rows


SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("no-dictionary", {"use_dictionary": False}),
    ("v2-pages", {"data_page_version": "2.0"}),
    ("tiny-pages", {"data_page_size": 64, "write_batch_size": 4}),
    ("tiny-row-groups", {"row_group_size": 7}),
    (
        "v2-tiny-everything",
        {"data_page_version": "2.0", "data_page_size": 64, "write_batch_size": 4, "row_group_size": 11},
    ),
    ("uncompressed", {"compression": "none"}),
    ("gzip", {"compression": "gzip"}),
    ("brotli", {"compression": "brotli"}),
    ("lz4", {"compression": "lz4"}),
    ("zstd", {"compression": "zstd"}),
    ("legacy-list-naming", {"use_compliant_nested_type": False}),
]


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tables: list[tuple[str, pa.Table]] = [
        ("synthetic", pa.Table.from_pylist(synthetic_rows(), schema=_schema(False))),
        ("malformed", pa.Table.from_pylist(malformed_rows(), schema=_schema(False))),
    ]
    required = [r for r in synthetic_rows() if r["add"] is None or r["add"]["path"] is not None]
    tables.append(("required-fields", pa.Table.from_pylist(required, schema=_schema(True))))
    for i, source in enumerate(sys.argv[2:]):
        tables.append((f"source{i}-{Path(source).name}", pq.read_table(source)))
    files = []
    for name, table in tables:
        for setting, options in SETTINGS:
            path = out / f"{name}.{setting}.parquet"
            pq.write_table(table, path, **options)
            files.append({"name": f"{name} ({setting})", "path": str(path)})
    sys.stdout.write(json.dumps({"files": files}) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
