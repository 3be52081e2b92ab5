"""Baseline of the `open` benchmark: delta-rs opening a snapshot and listing its active files.

Usage: python open.py serve   (request loop, see worker.py)

Request ``open`` with ``{"path": str, "version": int | null, "listing": str}``: one repetition
is a fresh ``DeltaTable(path)`` (or ``DeltaTable(path, version=v)``) followed by the listing of
every active file, ``file_uris()`` (a list of URI strings) or ``get_add_actions(flatten=False)``
(an Arrow record batch of the add actions: path, size, partition values, stats, ...); answers
``{"ns": <duration>, "files": <count>}``. Request ``digest`` (same path and version) answers the
SHA-256 of the sorted active paths, to check that both sides list the same files.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deltalake import DeltaTable  # noqa: E402

from worker import finish, serve, timed  # noqa: E402


def _count_file_uris(table: DeltaTable) -> int:
    return len(table.file_uris())


def _count_add_actions(table: DeltaTable) -> int:
    return table.get_add_actions(flatten=False).num_rows


LISTINGS = {"file_uris": _count_file_uris, "get_add_actions": _count_add_actions}


def run_open(args: dict[str, object]) -> dict[str, int]:
    """One repetition: a fresh DeltaTable(path[, version]) plus the listing."""
    path = str(args["path"])
    version = args.get("version")
    listing = LISTINGS[str(args.get("listing", "file_uris"))]
    files = 0

    def once() -> None:
        nonlocal files
        table = DeltaTable(path) if version is None else DeltaTable(path, version=int(version))
        files = listing(table)

    ns = timed(once)
    return {"ns": ns, "files": files}


def digest(args: dict[str, object]) -> dict[str, object]:
    """SHA-256 of the sorted active paths (relative, as in the log), to check both sides agree."""
    path = str(args["path"])
    version = args.get("version")
    table = DeltaTable(path) if version is None else DeltaTable(path, version=int(version))
    paths = sorted(table.get_add_actions(flatten=True).column("path").to_pylist())
    return {"files": len(paths), "sha256": hashlib.sha256("\n".join(paths).encode()).hexdigest()}


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write("usage: open.py serve\n")
        finish(2)
    serve({"open": run_open, "digest": digest})
