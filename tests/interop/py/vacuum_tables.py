"""Builds delta-rs tables maintained by delta-rs itself (vacuum, metadata cleanup, restore).

Usage: python vacuum_tables.py <outdir>

For each table NAME this writes ``<outdir>/NAME/table`` and ``<outdir>/NAME/expected.json``
(what delta-rs reads at every version, in the output format of read_table.py).

Tables:
  lite_vacuumed   partitioned appends, a delete, an overwrite, then vacuum(retention 0) in
                  delta-rs's default LITE mode: files of expired tombstones are gone
  full_vacuumed   the same history plus an orphan file, vacuum(full=True, retention 0)
  cleaned_log     appends with a checkpoint in the middle, more appends, then
                  cleanup_metadata() with delta.logRetentionDuration of 0 days: the commits
                  below the checkpoint are gone
  restored        appends, an overwrite, restore(1), then vacuum(retention 0)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish, read_versions  # noqa: E402


def batch(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "part": pa.array([f"p{i % 3}" for i in ids], pa.string()),
            "name": pa.array([None if i % 5 == 0 else f"name-{i}" for i in ids], pa.string()),
        }
    )


def history(path: str) -> None:
    write_deltalake(path, batch(0, 6), partition_by=["part"])
    write_deltalake(path, batch(6, 6), partition_by=["part"], mode="append")
    DeltaTable(path).delete("id = 3")
    write_deltalake(path, batch(100, 4), partition_by=["part"], mode="overwrite")
    write_deltalake(path, batch(200, 3), partition_by=["part"], mode="append")


def lite_vacuumed(path: str) -> None:
    history(path)
    time.sleep(0.01)
    DeltaTable(path).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)


def full_vacuumed(path: str) -> None:
    history(path)
    (Path(path) / "part=p1" / "orphan-from-failed-write.parquet").write_bytes(b"junk")
    time.sleep(0.01)
    DeltaTable(path).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False, full=True
    )


def cleaned_log(path: str) -> None:
    config = {"delta.logRetentionDuration": "interval 0 days"}
    write_deltalake(path, batch(0, 3), partition_by=["part"], configuration=config)
    for i in range(1, 6):
        write_deltalake(path, batch(i * 10, 3), partition_by=["part"], mode="append")
    DeltaTable(path).create_checkpoint()
    for i in range(6, 9):
        write_deltalake(path, batch(i * 10, 3), partition_by=["part"], mode="append")
    time.sleep(0.01)
    DeltaTable(path).cleanup_metadata()


def restored(path: str) -> None:
    write_deltalake(path, batch(0, 4), partition_by=["part"])
    write_deltalake(path, batch(10, 4), partition_by=["part"], mode="append")
    write_deltalake(path, batch(20, 2), partition_by=["part"], mode="overwrite")
    DeltaTable(path).restore(1)
    time.sleep(0.01)
    DeltaTable(path).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)


TABLES = {
    "lite_vacuumed": lite_vacuumed,
    "full_vacuumed": full_vacuumed,
    "cleaned_log": cleaned_log,
    "restored": restored,
}


def main() -> None:
    out = Path(sys.argv[1])
    for name, build in TABLES.items():
        table = out / name / "table"
        table.parent.mkdir(parents=True, exist_ok=True)
        build(str(table))
        expected = read_versions(str(table))
        (out / name / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"vacuum_tables.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
