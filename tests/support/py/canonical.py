"""Canonical JSON form of table rows, the Python half of tests/support/canonical.ts.

Rows read by delta-rs (as a pyarrow Table) and rows read by our engine are compared as sorted
lists of canonical JSON strings, one per row. Both halves must produce byte-identical text:

* long (int64) -> decimal string; integer/short/byte -> JSON number
* float/double -> JSON number formatted like JavaScript's Number#toString (-0 -> 0), or the
  strings "NaN", "Infinity", "-Infinity"
* boolean -> true/false; string -> JSON string; binary -> base64 string
* date -> "YYYY-MM-DD"
* timestamp / timestamp_ntz -> "YYYY-MM-DDTHH:MM:SS.ffffffZ", exact to the microsecond (Delta's
  precision; nanoseconds truncated toward -infinity; ntz: the wall clock); years outside 0..9999
  use JavaScript's "+YYYYYY" form
* decimal(p, s) -> plain string with exactly s fraction digits
* struct -> object with keys sorted by code point; array -> array
* map -> array of [key, value] pairs sorted by the canonical JSON of the key (then of the value)
* null -> null

JSON text is written without spaces, non-ASCII characters unescaped, controls escaped like
JSON.stringify does. The row list is sorted by code point.

Run as a script with ``--selftest <input.json>`` to format the numbers, timestamps and dates listed
in the input (used by the TypeScript tests to check that both halves agree).
"""

from __future__ import annotations

import base64
import decimal
import json
import math
import re
import struct
import sys
from typing import Any

import pyarrow as pa

MS_PER_DAY = 86_400_000
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNIT_TO_US = {"s": (1_000_000, 1), "ms": (1000, 1), "us": (1, 1), "ns": (1, 1000)}
US_PER_DAY = 86_400_000_000


def json_string(text: str) -> str:
    """A JSON string literal exactly as JavaScript's JSON.stringify writes it."""
    out = json.dumps(text, ensure_ascii=False)
    # JSON.stringify escapes lone surrogates; Python would emit them raw.
    return _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), out)


def js_number(value: float) -> str:
    """Formats a float as JSON the way JavaScript does (shortest round-trip digits)."""
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    all_digits = "".join(str(d) for d in digit_tuple)
    digits = all_digits.rstrip("0")
    k = len(digits)
    # value = digits * 10^(n - k), as in ECMAScript Number::toString.
    n = k + exponent + (len(all_digits) - k)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + text


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y, m, d)


def _year(y: int) -> str:
    if 0 <= y <= 9999:
        return "%04d" % y
    return ("+" if y > 0 else "-") + "%06d" % abs(y)


def iso_date(days: int) -> str:
    """'YYYY-MM-DD' of a day count since the epoch."""
    y, m, d = _civil_from_days(days)
    return f"{_year(y)}-{m:02d}-{d:02d}"


def iso_us(us: int) -> str:
    """ISO-8601 UTC text of epoch microseconds: JavaScript's Date#toISOString form with six
    fraction digits."""
    days, rest = divmod(us, US_PER_DAY)
    seconds, micro = divmod(rest, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{iso_date(days)}T{hour:02d}:{minute:02d}:{sec:02d}.{micro:06d}Z"


def _decimal_text(value: decimal.Decimal, scale: int) -> str:
    # Exact integer arithmetic: Decimal operations would round to the context precision (28).
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    shift = exponent + scale
    if shift < 0:
        raise ValueError(f"canonical: decimal {value} has more than {scale} fraction digits")
    unscaled = int("".join(str(d) for d in digit_tuple) or "0") * 10**shift
    unscaled = -unscaled if sign else unscaled
    digits = str(abs(unscaled)).rjust(scale + 1, "0")
    text = digits if scale == 0 else digits[:-scale] + "." + digits[-scale:]
    return ("-" if unscaled < 0 else "") + text


def _pairs_json(pairs: list[tuple[str, str]]) -> str:
    pairs.sort()
    return "[" + ",".join(f"[{k},{v}]" for k, v in pairs) + "]"


def canonical_value(scalar: pa.Scalar, typ: pa.DataType) -> str:
    """Canonical JSON text of one arrow value of type ``typ``."""
    if not scalar.is_valid:
        return "null"
    t = pa.types
    if t.is_dictionary(typ):
        return canonical_value(scalar.value, typ.value_type)
    if t.is_null(typ):
        return "null"
    if t.is_boolean(typ):
        return "true" if scalar.as_py() else "false"
    if t.is_integer(typ):
        v = scalar.as_py()
        return f'"{v}"' if typ.bit_width == 64 else str(v)
    if t.is_floating(typ):
        return js_number(float(scalar.as_py()))
    if t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ):
        return json_string(scalar.as_py())
    if (
        t.is_binary(typ)
        or t.is_large_binary(typ)
        or t.is_fixed_size_binary(typ)
        or t.is_binary_view(typ)
    ):
        return json_string(base64.b64encode(scalar.as_py()).decode("ascii"))
    if t.is_date32(typ):
        return json_string(iso_date(scalar.value))
    if t.is_date64(typ):
        return json_string(iso_date(scalar.value // MS_PER_DAY))
    if t.is_timestamp(typ):
        mul, div = _UNIT_TO_US[typ.unit]
        return json_string(iso_us(scalar.value * mul // div))
    if t.is_decimal(typ):
        return json_string(_decimal_text(scalar.as_py(), typ.scale))
    if t.is_struct(typ):
        fields = [
            (typ.field(i).name, canonical_value(scalar[i], typ.field(i).type))
            for i in range(typ.num_fields)
        ]
        fields.sort(key=lambda f: f[0])
        return "{" + ",".join(f"{json_string(k)}:{v}" for k, v in fields) + "}"
    if t.is_map(typ):
        entries = scalar.values
        keys, items = entries.field(0), entries.field(1)
        return _pairs_json(
            [
                (canonical_value(keys[i], typ.key_type), canonical_value(items[i], typ.item_type))
                for i in range(len(entries))
            ]
        )
    if t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ) or t.is_list_view(typ):
        values = scalar.values
        elem = typ.value_type
        return "[" + ",".join(canonical_value(values[i], elem) for i in range(len(values))) + "]"
    raise TypeError(f"canonical: unsupported arrow type {typ}")


def canonical_rows(table: pa.Table) -> list[str]:
    """One canonical JSON string per row of ``table``, sorted by code point."""
    table = table.combine_chunks()
    columns = []
    for i, field in enumerate(table.schema):
        chunked = table.column(i)
        array = chunked.chunk(0) if chunked.num_chunks == 1 else pa.concat_arrays(chunked.chunks)
        columns.append((field.name, field.type, array))
    columns.sort(key=lambda c: c[0])
    rows = []
    for r in range(table.num_rows):
        rows.append(
            "{"
            + ",".join(
                f"{json_string(name)}:{canonical_value(array[r], typ)}"
                for name, typ, array in columns
            )
            + "}"
        )
    rows.sort()
    return rows


def _sample_table() -> pa.Table:
    """The row of the TypeScript unit test "writes every type in its canonical form"."""
    import datetime as dt

    utc = dt.timezone.utc
    schema = pa.schema(
        [
            ("s", pa.string()),
            ("l", pa.int64()),
            ("i", pa.int32()),
            ("sh", pa.int16()),
            ("b", pa.int8()),
            ("f", pa.float32()),
            ("d", pa.float64()),
            ("bo", pa.bool_()),
            ("bin", pa.binary()),
            ("date", pa.date32()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("ntz", pa.timestamp("us")),
            ("dec", pa.decimal128(10, 2)),
            ("dec0", pa.decimal128(5, 0)),
            ("st", pa.struct([("z", pa.int32()), ("a", pa.string())])),
            ("arr", pa.list_(pa.int64())),
            ("m", pa.map_(pa.string(), pa.float64())),
        ]
    )
    row = {
        "s": 'é "q"\n',
        "l": -9007199254740993,
        "i": -5,
        "sh": 7,
        "b": -128,
        "f": 0.1,
        "d": float("nan"),
        "bo": False,
        "bin": bytes([0, 255, 16]),
        "date": dt.date(1969, 12, 31),
        # 500 microseconds before the epoch
        "ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=utc),
        "ntz": dt.datetime(2024, 2, 29, 12, 0, 0, 5_999),
        "dec": decimal.Decimal("-1.50"),
        "dec0": decimal.Decimal("12"),
        "st": {"z": 1, "a": None},
        "arr": [1, None],
        "m": [("b", -0.0), ("a", float("inf")), ("\U0001F600", None), ("\ue000", 1e21)],
    }
    return pa.Table.from_pylist([row], schema=schema)


def _selftest(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    floats = [struct.unpack(">d", bytes.fromhex(h))[0] for h in spec.get("floats", [])]
    return {
        "floats": [js_number(x) for x in floats],
        "timestamps": [iso_us(int(us)) for us in spec.get("timestamps_us", [])],
        "dates": [iso_date(int(d)) for d in spec.get("days", [])],
        "strings": [json_string(s) for s in spec.get("strings", [])],
        "sample_rows": canonical_rows(_sample_table()),
    }


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--selftest":
        sys.exit("usage: canonical.py --selftest <input.json>")
    sys.stdout.write(json.dumps(_selftest(sys.argv[2])) + "\n")
