"""delta-rs writes a table partitioned by a double and a float column holding the special values
(tests/interop/float-partitions.test.ts).

Usage: python rs_float_partitions.py <table_path>

Writes ids 1-5 with partition values inf, -inf, NaN, -0.0 and 1.5 (delta-rs spells them as Rust
prints floats: "inf", "-inf", "NaN") and prints {"partitionValues": [...], "rows": [[id, pd, pf],
...]}: the partition values of the log, and the rows as delta-rs reads them, sorted by id, the
floats as strings ("inf", "-inf", "nan" or repr).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support" / "py"))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402
from read_table import finish  # noqa: E402
from rs_write import SNAPPY  # noqa: E402

VALUES = [math.inf, -math.inf, math.nan, -0.0, 1.5]


def shown(x: float | None) -> str | None:
    if x is None:
        return None
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def main() -> None:
    path = sys.argv[1]
    table = pa.table(
        {
            "id": pa.array(range(1, len(VALUES) + 1), pa.int64()),
            "pd": pa.array(VALUES, pa.float64()),
            "pf": pa.array(VALUES, pa.float32()),
        }
    )
    write_deltalake(path, table, partition_by=["pd", "pf"], writer_properties=SNAPPY)
    dt = DeltaTable(path)
    log = Path(path) / "_delta_log" / "00000000000000000000.json"
    actions = [json.loads(line) for line in log.read_text().splitlines() if line]
    values = sorted(
        [a["add"]["partitionValues"]["pd"], a["add"]["partitionValues"]["pf"]]
        for a in actions
        if "add" in a
    )
    rows = sorted(dt.to_pyarrow_table().to_pylist(), key=lambda r: r["id"])
    print(
        json.dumps(
            {
                "partitionValues": values,
                "rows": [[r["id"], shown(r["pd"]), shown(r["pf"])] for r in rows],
            }
        )
    )
    finish()


if __name__ == "__main__":
    main()
