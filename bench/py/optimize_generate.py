"""Generates the tables of the `optimize`, `zorder` and `skipping` benchmarks with ``deltalake``.

Usage:
  python optimize_generate.py small <table_path> --files N [--timestamps]
      DeltaTable.create (version 0, no files), then N one-row appends (N files, versions 1..N):
      id long, name string, value double (and ts timestamp[us, UTC]).
  python optimize_generate.py audit <table_path> --rows N --appends K --users U --seed S
      An audit-like table appended in K chronological batches (K files): user_id (string UUIDs of
      U users), action (20 values), ts (timestamp[us, UTC], increasing), details (string).

Prints one JSON object of facts about the result.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from worker import finish  # noqa: E402

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)

ACTIONS = [
    "auth.login",
    "auth.logout",
    "auth.login_failed",
    "auth.password_reset",
    "auth.mfa_enabled",
    "auth.mfa_disabled",
    "session.created",
    "session.revoked",
    "user.created",
    "user.updated",
    "user.deleted",
    "user.role_changed",
    "billing.invoice_paid",
    "billing.card_updated",
    "billing.plan_changed",
    "api.key_created",
    "api.key_revoked",
    "gdpr.export_requested",
    "gdpr.erasure_requested",
    "admin.impersonation",
]


def small(path: str, files: int, timestamps: bool) -> dict[str, object]:
    fields = [("id", pa.int64()), ("name", pa.string()), ("value", pa.float64())]
    if timestamps:
        fields.append(("ts", pa.timestamp("us", tz="UTC")))
    DeltaTable.create(path, schema=pa.schema(fields))
    for i in range(files):
        columns: dict[str, pa.Array] = {
            "id": pa.array([i], pa.int64()),
            "name": pa.array([f"name-{i}"], pa.string()),
            "value": pa.array([i * 0.5], pa.float64()),
        }
        if timestamps:
            columns["ts"] = pa.array(
                [BASE + timedelta(microseconds=i * 1_000_001)], pa.timestamp("us", tz="UTC")
            )
        write_deltalake(path, pa.table(columns), mode="append")
    table = DeltaTable(path)
    return {"version": table.version(), "files": len(table.file_uris())}


def audit(path: str, rows: int, appends: int, users: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    user_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(users)]
    per = rows // appends
    second = 0
    for k in range(appends):
        count = per if k < appends - 1 else rows - per * (appends - 1)
        uid = [rng.choice(user_ids) for _ in range(count)]
        act = [rng.choice(ACTIONS) for _ in range(count)]
        ts = []
        for _ in range(count):
            second += rng.randrange(1, 4)
            ts.append(BASE + timedelta(seconds=second, microseconds=rng.randrange(1_000_000)))
        details = [
            f'{{"ip":"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",'
            f'"agent":"client/{rng.randrange(1, 40)}.{rng.randrange(10)}","ok":{str(rng.random() < 0.9).lower()}}}'
            for _ in range(count)
        ]
        write_deltalake(
            path,
            pa.table(
                {
                    "user_id": pa.array(uid, pa.string()),
                    "action": pa.array(act, pa.string()),
                    "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                    "details": pa.array(details, pa.string()),
                }
            ),
            mode="append",
        )
    table = DeltaTable(path)
    files = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    return {
        "version": table.version(),
        "files": len(files["path"]),
        "bytes": sum(files["size_bytes"]),
        "rows": rows,
        "probeUsers": user_ids[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    s = sub.add_parser("small")
    s.add_argument("path")
    s.add_argument("--files", type=int, required=True)
    s.add_argument("--timestamps", action="store_true")
    a = sub.add_parser("audit")
    a.add_argument("path")
    a.add_argument("--rows", type=int, required=True)
    a.add_argument("--appends", type=int, required=True)
    a.add_argument("--users", type=int, required=True)
    a.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.kind == "small":
        result = small(args.path, args.files, args.timestamps)
    else:
        result = audit(args.path, args.rows, args.appends, args.users, args.seed)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"optimize_generate.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
