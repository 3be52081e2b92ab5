"""Generates the tables of the `open` benchmark with ``deltalake`` only.

Usage: python open_generate.py <table_path> --commits N --interval K [--delete-every M]

Commit 0 creates the table; every later commit is a small append (1-3 rows of
long/string/timestamp/double) or, when ``--delete-every`` is set, every M-th commit deletes one
earlier row (leaving remove tombstones). ``delta.checkpointInterval`` makes delta-rs's
post-commit hook write the checkpoints (at versions K-1, 2K-1, ...); a missing one is created
explicitly. Prints one JSON object of facts about the result.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from worker import finish  # noqa: E402

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _batch(version: int) -> pa.Table:
    n = 1 + version % 3
    ids = [version * 10 + i for i in range(n)]
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"user-{i}" for i in ids], pa.string()),
            "ts": pa.array(
                [BASE + timedelta(seconds=i) for i in ids], pa.timestamp("us", tz="UTC")
            ),
            "score": pa.array([i * 0.25 for i in ids], pa.float64()),
        }
    )


def generate(path: str, commits: int, interval: int, delete_every: int) -> dict[str, object]:
    write_deltalake(
        path, _batch(0), configuration={"delta.checkpointInterval": str(interval)}
    )
    table = DeltaTable(path)
    log = Path(path) / "_delta_log"
    created = 0
    for version in range(1, commits):
        if delete_every > 0 and version % delete_every == 0:
            # The first row of an append made a few commits earlier.
            table.delete(f"id = {(version - 3) * 10}")
        else:
            write_deltalake(table, _batch(version), mode="append")
        if table.version() != version:
            raise RuntimeError(f"expected version {version}, table is at {table.version()}")
        if (version + 1) % interval == 0:
            if not (log / f"{version:020d}.checkpoint.parquet").exists():
                table.create_checkpoint()
                created += 1
        if version % 1000 == 0:
            sys.stderr.write(f"open_generate.py: version {version}\n")
            sys.stderr.flush()
    checkpoints = sorted(p.name for p in log.glob("*.checkpoint.parquet"))
    return {
        "version": table.version(),
        "checkpoints": len(checkpoints),
        "explicitCheckpoints": created,
        "activeFiles": len(table.file_uris()),
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
