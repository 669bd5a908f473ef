"""Read a dangan table with Python's `deltalake` and print what it holds in some columns.

Usage: python3 read_sealed.py <table-dir> <column>...  →  {"columns": [...], "<column>": [values...]}
Exit 77 when the `deltalake` package is not installed (the test decides what that means).
"""
import json
import os
import sys

try:
    from deltalake import DeltaTable
except ImportError as e:  # pragma: no cover
    print(f"deltalake not installed: {e}", file=sys.stderr)
    sys.exit(77)

table = DeltaTable(sys.argv[1]).to_pyarrow_table()
out = {"columns": table.column_names}
for c in sys.argv[2:]:
    out[c] = [None if v is None else str(v) for v in table.column(c).to_pylist()]
print(json.dumps(out, ensure_ascii=False), flush=True)
# deltalake 1.6 may abort the interpreter at exit ("terminate called without an active
# exception") once everything is read: leave without the interpreter's shutdown.
os._exit(0)
