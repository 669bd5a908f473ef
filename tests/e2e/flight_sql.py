"""Flight SQL peer for tests/e2e/serve.rs: connects to `dangan serve --flight-addr` with the
ADBC Flight SQL driver from PyPI and prints one JSON object of what it saw.

usage: flight_sql.py grpc://HOST:PORT TOKEN
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

uri, token = sys.argv[1], sys.argv[2]
out = {}


def error_of(fn):
    try:
        fn()
        return None
    except Exception as e:  # the driver's ProgrammingError / OperationalError
        return str(e)


# Bearer header on every call.
conn = flightsql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {token}"})
cur = conn.cursor()
cur.execute("SELECT member_id, name, phone, id_number FROM members ORDER BY member_id")
table = cur.fetch_arrow_table()
out["columns"] = table.schema.names
out["types"] = [str(t) for t in table.schema.types]
out["rows"] = table.to_pylist()
cur.execute(
    "SELECT m.member_id, count(g.member_id) AS records FROM members m "
    "LEFT JOIN growth_records g ON g.member_id = m.member_id GROUP BY m.member_id ORDER BY 1"
)
out["join"] = [list(r) for r in cur.fetchall()]
out["denied"] = error_of(lambda: cur.execute("SELECT * FROM appraisals"))
out["bad_sql"] = error_of(lambda: cur.execute("SELEC 1"))
out["write"] = error_of(lambda: cur.execute("DROP TABLE members"))
objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
out["tables"] = sorted(
    t["table_name"]
    for c in objects
    for s in c["catalog_db_schemas"]
    for t in s["db_schema_tables"]
)
conn.close()

# User and password (a BI tool's form): the token is the password, the handshake answers
# with the bearer token.
conn = flightsql.connect(uri, db_kwargs={"username": "analyst", "password": token})
cur = conn.cursor()
cur.execute("SELECT count(*) AS n FROM members")
out["basic_count"] = cur.fetchall()[0][0]
conn.close()

out["wrong_password"] = error_of(
    lambda: flightsql.connect(uri, db_kwargs={"username": "analyst", "password": "dgn_wrong"})
    .cursor()
    .execute("SELECT 1")
)
out["no_token"] = error_of(lambda: flightsql.connect(uri).cursor().execute("SELECT 1"))
print(json.dumps(out, ensure_ascii=False))
