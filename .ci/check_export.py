"""Reads `forge export` files with pyarrow, as a training pipeline would.

Usage: check_export.py DIR

DIR holds what `forge-cli/tests/report/export.rs` writes (`export-rows` test): `rows.parquet`,
`rows.jsonl` (lists), `joined.parquet` (--join " | " --text) and `expected.json` (the rows the
test expects, as index → {column: value}). Exits non-zero on the first difference.
"""

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq


def check(table, expected, name):
    rows = table.to_pylist()
    got = {str(r["index"]): r for r in rows}
    if sorted(got) != sorted(expected):
        sys.exit(f"{name}: indices {sorted(got)}, expected {sorted(expected)}")
    for index, want in expected.items():
        for column, value in want.items():
            if got[index][column] != value:
                sys.exit(f"{name}: row {index} column {column}: {got[index][column]!r}, expected {value!r}")
    print(f"{name}: {len(rows)} rows, columns {table.column_names}: as expected")


def main():
    d = Path(sys.argv[1])
    expected = json.loads((d / "expected.json").read_text())
    t = pq.read_table(d / "rows.parquet")
    q = t.schema.field("q").type
    if not (pa.types.is_list(q) and pa.types.is_string(q.value_type)):
        sys.exit(f"rows.parquet: column q is {q}, expected list<string>")
    if not pa.types.is_uint64(t.schema.field("index").type):
        sys.exit(f"rows.parquet: index is {t.schema.field('index').type}, expected uint64")
    check(t, expected["lists"], "rows.parquet")
    check(pj.read_json(d / "rows.jsonl"), expected["lists"], "rows.jsonl")
    joined = pq.read_table(d / "joined.parquet")
    if not pa.types.is_string(joined.schema.field("q").type):
        sys.exit("joined.parquet: column q is not a string")
    check(joined, expected["joined"], "joined.parquet")
    check(pq.read_table(d / "dataset.parquet"), expected["dataset"], "dataset.parquet")


if __name__ == "__main__":
    main()
