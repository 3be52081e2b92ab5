"""delta-rs writing one table at the same time as our engine (tests/interop/concurrent-writers.test.ts).

Usage: python rs_concurrent_writer.py <table_path> <seconds> <seed>

The table (written by our engine) has columns id long, writer string, k integer, n long. Until
<seconds> have passed, this script makes random delta-rs commits that touch only its own rows
(writer = 'rs'): appends of 1-5 new rows (k = id % 10, n = 0), deletes of `k = K`, and updates
`n = n + 1` where `k = K`; now and then it also compacts the whole table (every writer's files). A commit that fails (a conflict delta-rs detects) is recorded as
failed and left out. Prints {"ops": [{"op": "append", "ids": [...]} | {"op": "delete", "k": K}
| {"op": "update", "k": K} | {"op": "compact"}, ...], "failed": [{...op, "error": text}, ...]}: the acknowledged
operations in the order they were made, and those delta-rs reported as failed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish  # noqa: E402
from rs_write import SNAPPY  # noqa: E402

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("writer", pa.string()),
        pa.field("k", pa.int32()),
        pa.field("n", pa.int64()),
    ]
)
FIRST_ID = 1_000_000


def main() -> None:
    path, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    ops: list[dict[str, object]] = []
    failed: list[dict[str, object]] = []
    next_id = FIRST_ID
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        roll = rng.random()
        op: dict[str, object]
        if roll < 0.6:
            ids = list(range(next_id, next_id + rng.randint(1, 5)))
            next_id += len(ids)
            op = {"op": "append", "ids": [str(i) for i in ids]}
        elif roll < 0.65:
            op = {"op": "compact"}
        elif roll < 0.8:
            op = {"op": "delete", "k": rng.randrange(10)}
        else:
            op = {"op": "update", "k": rng.randrange(10)}
        try:
            if op["op"] == "append":
                ids = [int(i) for i in op["ids"]]  # type: ignore[union-attr]
                rows = {
                    "id": ids,
                    "writer": ["rs"] * len(ids),
                    "k": [i % 10 for i in ids],
                    "n": [0] * len(ids),
                }
                table = pa.table(rows, schema=SCHEMA)
                write_deltalake(path, table, mode="append", writer_properties=SNAPPY)
            elif op["op"] == "compact":
                DeltaTable(path).optimize.compact(writer_properties=SNAPPY)
            elif op["op"] == "delete":
                predicate = f"writer = 'rs' AND k = {op['k']}"
                DeltaTable(path).delete(predicate, writer_properties=SNAPPY)
            else:
                DeltaTable(path).update(
                    updates={"n": "n + 1"},
                    predicate=f"writer = 'rs' AND k = {op['k']}",
                    writer_properties=SNAPPY,
                )
            ops.append(op)
        except Exception as error:  # a commit delta-rs gave up on: not acknowledged
            text = str(error).splitlines()[0] if str(error) else ""
            failed.append({**op, "error": f"{type(error).__name__}: {text}"})
    print(json.dumps({"ops": ops, "failed": failed}))
    finish()


if __name__ == "__main__":
    main()
