"""delta-rs writes a table through a random sequence of DML, then reads every version.

Usage: python rs_random_dml.py <table_path> <seed> <operations> <partition column or "-">

The table has the schema of tests/support/dml-model.ts (id long, p string, n int, s string,
ts timestamp). The operations, drawn from ``random.Random(seed)``: appends, deletes and updates
with random SQL predicates (comparisons, IN, IS NULL, AND/OR/NOT), updates that may move rows
between partitions, merges (upsert or delete matched), overwrites, compactions and checkpoints.
Prints the read_table.py output (delta-rs's own read of every version), plus the operations as
"ops".
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish, read_versions  # noqa: E402
from rs_write import SNAPPY  # noqa: E402

UTC = dt.timezone.utc
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("p", pa.string()),
        pa.field("n", pa.int32()),
        pa.field("s", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
    ]
)
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


class Run:
    def __init__(self, path: str, seed: int, partition: str | None) -> None:
        self.path = path
        self.rnd = random.Random(seed)
        self.partition = partition
        self.next_id = 0
        self.ops: list[str] = []

    def maybe(self, value: Any) -> Any:
        return None if self.rnd.random() < 0.2 else value

    def row(self, ident: int) -> dict[str, Any]:
        r = self.rnd
        return {
            "id": ident,
            "p": self.maybe(r.choice(["x", "y", "z"])),
            "n": self.maybe(r.randint(-3, 3)),
            "s": self.maybe(r.choice(["a", "b", "ab", ""])),
            "ts": self.maybe(T0 + dt.timedelta(hours=r.randint(0, 5))),
        }

    def fresh(self, count: int) -> pa.Table:
        rows = [self.row(self.next_id + i) for i in range(count)]
        self.next_id += count
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    def predicate(self, depth: int = 0) -> str:
        r = self.rnd
        kind = r.randint(0, 6 if depth < 2 else 3)
        if kind == 0:
            return f"n {r.choice(['=', '<>', '<', '<=', '>', '>='])} {r.randint(-3, 3)}"
        if kind == 1:
            column = r.choice(["s", "p"])
            return f"{column} {r.choice(['=', '<>', '<', '>='])} '{r.choice(['a', 'b', 'x', 'y'])}'"
        if kind == 2:
            return f"{r.choice(['p', 'n', 's', 'ts'])} IS {r.choice(['', 'NOT '])}NULL"
        if kind == 3:
            values = ", ".join(str(r.randint(-3, 3)) for _ in range(r.randint(1, 3)))
            return f"n IN ({values})"
        if kind == 4:
            return f"({self.predicate(depth + 1)}) AND ({self.predicate(depth + 1)})"
        if kind == 5:
            return f"({self.predicate(depth + 1)}) OR ({self.predicate(depth + 1)})"
        return f"NOT ({self.predicate(depth + 1)})"

    def step(self) -> None:
        r = self.rnd
        kind = r.choices(
            ["append", "delete", "update", "merge", "overwrite", "compact", "checkpoint"],
            weights=[4, 2, 3, 3, 1, 1, 1],
        )[0]
        dt_ = DeltaTable(self.path)
        if kind == "append":
            write_deltalake(
                self.path, self.fresh(r.randint(1, 6)), mode="append", writer_properties=SNAPPY
            )
            self.ops.append("append")
        elif kind == "delete":
            pred = self.predicate()
            dt_.delete(pred, writer_properties=SNAPPY)
            self.ops.append(f"delete where {pred}")
        elif kind == "update":
            pred = self.predicate()
            updates = r.choice(
                [{"s": "'upd'"}, {"n": "n + 1"}, {"p": "'y'"}, {"s": "NULL", "n": "0"}]
            )
            dt_.update(updates=updates, predicate=pred, writer_properties=SNAPPY)
            self.ops.append(f"update {updates} where {pred}")
        elif kind == "merge":
            ids = sorted({r.randint(-8, self.next_id + 3) for _ in range(r.randint(1, 5))})
            source = pa.Table.from_pylist([self.row(i) for i in ids], schema=SCHEMA)
            self.next_id = max(self.next_id, max(ids) + 1)
            merger = dt_.merge(
                source,
                predicate="t.id = s.id",
                source_alias="s",
                target_alias="t",
                writer_properties=SNAPPY,
            )
            if r.random() < 0.5:
                merger = merger.when_matched_update_all()
                action = "update"
            else:
                merger = merger.when_matched_delete()
                action = "delete"
            merger.when_not_matched_insert_all().execute()
            self.ops.append(f"merge {ids} ({action} matched)")
        elif kind == "overwrite":
            write_deltalake(
                self.path, self.fresh(r.randint(1, 4)), mode="overwrite", writer_properties=SNAPPY
            )
            self.ops.append("overwrite")
        elif kind == "compact":
            dt_.optimize.compact(writer_properties=SNAPPY)
            self.ops.append("compact")
        else:
            dt_.create_checkpoint()
            self.ops.append("checkpoint")


def main() -> None:
    path, seed, count, partition = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    run = Run(path, seed, None if partition == "-" else partition)
    write_deltalake(
        path,
        run.fresh(3),
        mode="error",
        partition_by=[run.partition] if run.partition else None,
        writer_properties=SNAPPY,
    )
    for _ in range(count):
        run.step()
    result = read_versions(path)
    result["ops"] = run.ops
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        sys.stderr.write(f"rs_random_dml.py: {type(error).__name__}: {error}\n")
        finish(1)
    finish(0)
