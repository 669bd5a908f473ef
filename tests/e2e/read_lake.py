"""Open every Delta table of a dangan lake with Python's `deltalake` and print row counts.

Usage: python3 read_lake.py <lake-dir>  →  {"members": 300, ...} on stdout.
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

lake = sys.argv[1]
counts = {}
for sub, prefix in (("tables", ""), ("system", "system_")):
    root = os.path.join(lake, sub)
    for name in sorted(os.listdir(root)):
        dt = DeltaTable(os.path.join(root, name))
        counts[prefix + name] = dt.to_pyarrow_table().num_rows
print(json.dumps(counts, ensure_ascii=False))
