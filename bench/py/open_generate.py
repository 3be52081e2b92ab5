"""Generates the tables of the `open` benchmark: a long log in delta-rs's format.

Usage: python open_generate.py <table_path> --commits N --interval K [--delete-every M]

Version 0 is created by ``deltalake.write_deltalake`` (so protocol, metaData and the schema are
exactly delta-rs's) with ``delta.checkpointInterval=K``. Every later commit is a small append
(1-3 rows of long/string/timestamp/double) or, when ``--delete-every`` is set, every M-th commit
deletes one earlier row (the remove tombstone of the file that held it, plus the add of a
rewritten file with the remaining rows, if any).

Versions 1..N-1 are written by this generator, not by delta-rs: the data files with pyarrow and
the commit JSON files directly, mirroring what delta-rs 1.6 writes for an append
(``write_deltalake(..., mode="append")``) and for a ``DeltaTable.delete`` (actions, field names,
stats and timestamp formats, file naming, snappy for appends and zstd for rewrites). Why: each
delta-rs commit loads the table state again, so N separate delta-rs commits cost time quadratic
in N (10,000 commits did not finish in over 15 minutes of CPU). The checkpoints are delta-rs's
own: at every version v with (v + 1) % K == 0 the generator calls
``DeltaTable(path, version=v).create_checkpoint()`` (which also writes ``_last_checkpoint``),
where delta-rs's post-commit hook would have written one. At the end delta-rs opens the table and
must see version N-1 and the live files tracked here. Prints one JSON object of facts about the
result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deltalake  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from worker import finish  # noqa: E402

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)
COLUMNS = ("id", "name", "ts", "score")
CLIENT = f"delta-rs.py-{deltalake.__version__}"
ENGINE = f"delta-rs:py-{deltalake.__version__}"

# delta-rs writes appends with arrow-rs (snappy); DELETE rewrites go through DataFusion (zstd,
# strings as string_view in the stored Arrow schema).
APPEND_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("score", pa.float64()),
    ]
)
REWRITE_SCHEMA = APPEND_SCHEMA.set(1, pa.field("name", pa.string_view()))


def _rows(version: int) -> list[int]:
    """The ids of the rows a commit at ``version`` appends (1-3 of them)."""
    n = 1 + version % 3
    return [version * 10 + i for i in range(n)]


def _table(ids: list[int], schema: pa.Schema = APPEND_SCHEMA) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"user-{i}" for i in ids], pa.string()),
            "ts": pa.array(
                [BASE + timedelta(seconds=i) for i in ids], pa.timestamp("us", tz="UTC")
            ),
            "score": pa.array([i * 0.25 for i in ids], pa.float64()),
        }
    ).cast(schema)


def _batch(version: int) -> pa.Table:
    return _table(_rows(version))


def _timestamp(seconds: int) -> str:
    """A timestamp stat as delta-rs formats it (whole seconds: no fraction)."""
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stats(ids: list[int]) -> str:
    """The ``stats`` JSON delta-rs writes for a file holding the rows ``ids``."""
    scores = [i * 0.25 for i in ids]
    low, high = min(scores), max(scores)
    if low == 0.0:
        low = -0.0  # Parquet writes a zero float minimum as -0.0; delta-rs copies it.
    names = sorted(f"user-{i}" for i in ids)
    stats = {
        "numRecords": len(ids),
        "minValues": {
            "id": min(ids),
            "name": names[0],
            "ts": _timestamp(min(ids)),
            "score": low,
        },
        "maxValues": {
            "id": max(ids),
            "name": names[-1],
            "ts": _timestamp(max(ids)),
            "score": high,
        },
        "nullCount": {column: 0 for column in COLUMNS},
    }
    return json.dumps(stats, separators=(",", ":"))


class Generator:
    """Writes commits into ``path`` and keeps the live files (path -> row ids, size)."""

    def __init__(self, path: str) -> None:
        self.root = Path(path)
        self.log = self.root / "_delta_log"
        self.live: dict[str, tuple[list[int], int]] = {}
        self.owner: dict[int, str] = {}  # row id -> live file holding it
        self.last_ms = 0

    def _now_ms(self) -> int:
        # Strictly increasing commit timestamps, like commits made one after another.
        self.last_ms = max(int(time.time() * 1000), self.last_ms + 1)
        return self.last_ms

    def adopt(self) -> None:
        """Tracks the files of version 0 (written by delta-rs)."""
        with open(self.log / f"{0:020d}.json", encoding="utf-8") as handle:
            for line in handle:
                action = json.loads(line)
                if "add" in action:
                    add = action["add"]
                    table = pq.read_table(self.root / add["path"], columns=["id"])
                    self._track(add["path"], table.column("id").to_pylist(), add["size"])
                if "commitInfo" in action:
                    self.last_ms = action["commitInfo"]["timestamp"]

    def _track(self, name: str, ids: list[int], size: int) -> None:
        self.live[name] = (ids, size)
        for i in ids:
            self.owner[i] = name

    def _write_file(self, ids: list[int], rewrite: bool) -> tuple[str, int]:
        codec = "zstd" if rewrite else "snappy"
        name = f"part-00000-{uuid.uuid4()}-c000.{codec}.parquet"
        schema = REWRITE_SCHEMA if rewrite else APPEND_SCHEMA
        pq.write_table(_table(ids, schema), self.root / name, compression=codec)
        size = (self.root / name).stat().st_size
        self._track(name, ids, size)
        return name, size

    def _commit(self, version: int, actions: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(a, separators=(",", ":")) + "\n" for a in actions)
        target = self.log / f"{version:020d}.json"
        # Exclusive create, like delta-rs's put-if-absent commit.
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)

    @staticmethod
    def _add(name: str, size: int, ids: list[int], ms: int) -> dict[str, Any]:
        return {
            "add": {
                "path": name,
                "partitionValues": {},
                "size": size,
                "modificationTime": ms,
                "dataChange": True,
                "stats": _stats(ids),
                "tags": None,
                "baseRowId": None,
                "defaultRowCommitVersion": None,
                "clusteringProvider": None,
            }
        }

    def append(self, version: int) -> None:
        start = time.perf_counter()
        ids = _rows(version)
        name, size = self._write_file(ids, rewrite=False)
        ms = self._now_ms()
        info = {
            "timestamp": ms,
            "operation": "WRITE",
            "operationParameters": {"mode": "Append"},
            "engineInfo": ENGINE,
            "clientVersion": CLIENT,
            "operationMetrics": {
                "num_added_files": 1,
                "num_removed_files": 0,
                "num_partitions": 0,
                "num_added_rows": len(ids),
                "execution_time_ms": int((time.perf_counter() - start) * 1000),
                "num_retries": 0,
            },
        }
        self._commit(version, [{"commitInfo": info}, self._add(name, size, ids, ms)])

    def delete(self, version: int, row: int) -> None:
        """Deletes the row with id ``row`` as ``DeltaTable.delete(f"id = {row}")`` would."""
        start = time.perf_counter()
        old = self.owner.get(row)
        if old is None:
            # delta-rs makes no commit when nothing matches; the version numbers would shift.
            raise RuntimeError(f"version {version}: no live row with id {row} to delete")
        ids, old_size = self.live.pop(old)
        for i in ids:
            del self.owner[i]
        remaining = [i for i in ids if i != row]
        deleted_ms = self._now_ms()
        actions: list[dict[str, Any]] = []
        rewrite_start = time.perf_counter()
        if remaining:
            name, size = self._write_file(remaining, rewrite=True)
        rewrite_ms = int((time.perf_counter() - rewrite_start) * 1000)
        ms = self._now_ms()
        if remaining:
            actions.append(self._add(name, size, remaining, ms))
        actions.append(
            {
                "remove": {
                    "path": old,
                    "dataChange": True,
                    "deletionTimestamp": deleted_ms,
                    "extendedFileMetadata": True,
                    "partitionValues": {},
                    "size": old_size,
                }
            }
        )
        info = {
            "timestamp": ms,
            "operation": "DELETE",
            "operationParameters": {"predicate": f"id = {row}"},
            "readVersion": version - 1,
            "engineInfo": ENGINE,
            "operationMetrics": {
                "num_added_files": 1 if remaining else 0,
                "num_removed_files": 1,
                "num_deleted_rows": len(ids) - len(remaining),
                "num_copied_rows": len(remaining),
                "execution_time_ms": int((time.perf_counter() - start) * 1000),
                "scan_time_ms": 0,
                "rewrite_time_ms": rewrite_ms,
            },
            "clientVersion": CLIENT,
        }
        self._commit(version, [{"commitInfo": info}, *actions])


def generate(path: str, commits: int, interval: int, delete_every: int) -> dict[str, object]:
    write_deltalake(
        path, _batch(0), configuration={"delta.checkpointInterval": str(interval)}
    )
    generator = Generator(path)
    generator.adopt()
    created = 0
    for version in range(1, commits):
        if delete_every > 0 and version % delete_every == 0:
            # The first row of an append made a few commits earlier.
            generator.delete(version, (version - 3) * 10)
        else:
            generator.append(version)
        if (version + 1) % interval == 0:
            # Where delta-rs's post-commit hook would checkpoint; loads from the last one.
            DeltaTable(path, version=version).create_checkpoint()
            created += 1
        if version % 1000 == 0:
            sys.stderr.write(f"open_generate.py: version {version}\n")
            sys.stderr.flush()
    table = DeltaTable(path)
    files = table.file_uris()
    if table.version() != commits - 1:
        raise RuntimeError(f"expected version {commits - 1}, table is at {table.version()}")
    if len(files) != len(generator.live):
        tracked = len(generator.live)
        raise RuntimeError(f"delta-rs lists {len(files)} active files, the generator {tracked}")
    names = {uri.rsplit("/", 1)[-1] for uri in files}
    if names != set(generator.live):
        raise RuntimeError("delta-rs lists other active files than the generator tracked")
    checkpoints = sorted(p.name for p in generator.log.glob("*.checkpoint.parquet"))
    return {
        "version": table.version(),
        "checkpoints": len(checkpoints),
        "explicitCheckpoints": created,
        "activeFiles": len(files),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--commits", type=int, required=True)
    parser.add_argument("--interval", type=int, required=True)
    parser.add_argument("--delete-every", type=int, default=0)
    args = parser.parse_args()
    result = generate(args.path, args.commits, args.interval, args.delete_every)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"open_generate.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
