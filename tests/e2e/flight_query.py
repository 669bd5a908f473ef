"""One statement through `dangan serve --flight-addr` with the ADBC Flight SQL driver from
PyPI: prints {"rows": [...]} or {"error": "..."} as one JSON object.

usage: flight_query.py grpc://HOST:PORT TOKEN SQL
exit 2 with a message when the driver is not installed (.ci/run installs it)."""

import json
import sys

try:
    import adbc_driver_flightsql.dbapi as flightsql
except ImportError:
    print("adbc-driver-flightsql is not installed (pip install adbc-driver-flightsql)")
    sys.exit(2)

import warnings

warnings.simplefilter("ignore")  # "Cannot disable autocommit": dangan is read-only

uri, token, sql = sys.argv[1], sys.argv[2], sys.argv[3]
conn = flightsql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {token}"})
cur = conn.cursor()
try:
    cur.execute(sql)
    out = {"rows": cur.fetch_arrow_table().to_pylist()}
except Exception as e:  # the driver's ProgrammingError / OperationalError
    out = {"error": str(e)}
print(json.dumps(out, ensure_ascii=False, default=str))
