"""A Delta table's change data feed as Python's `deltalake` reads it: row count and the count
of each change type since a version.

Usage: python3 read_cdf.py <table-dir> <starting-version>
  →  {"rows": 120050, "changes": {"insert": 50, "update_preimage": 1201, ...}} on stdout.
Exit 77 when the `deltalake` package is not installed (the test decides what that means).
"""
import collections
import json
import os
import sys

try:
    from deltalake import DeltaTable
except ImportError as e:  # pragma: no cover
    print(f"deltalake not installed: {e}", file=sys.stderr)
    sys.exit(77)

table, start = sys.argv[1], int(sys.argv[2])
dt = DeltaTable(table)
feed = dt.load_cdf(starting_version=start).read_all()
kinds = collections.Counter(feed.column("_change_type").to_pylist())
print(json.dumps({"rows": dt.to_pyarrow_table().num_rows, "changes": dict(kinds)}), flush=True)
# deltalake 1.6's change-feed reader aborts the interpreter at exit ("terminate called without an
# active exception") once everything is read: leave without the interpreter's shutdown.
os._exit(0)
