"""Flight SQL attacker for tests/e2e/security.rs: the department's token against
`dangan serve --flight-addr`, through the ADBC Flight SQL driver; prints one JSON object of
what each probe got back (errors as their text).

usage: flight_probe.py grpc://HOST:PORT TOKEN
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
conn = flightsql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {token}"})
cur = conn.cursor()


def attempt(sql):
    """The first value of the first row, or the error's text."""
    try:
        cur.execute(sql)
        return cur.fetchall()[0][0]
    except Exception as e:  # the driver's ProgrammingError / OperationalError
        return str(e)


out["chain"] = attempt("select 1" + " + 1" * 20000)
out["verbose"] = attempt("EXPLAIN VERBOSE select * from members")
out["outside"] = attempt(
    "select count(*) from growth_records where case when record_id = 'G3' "
    "then arrow_cast(concat(member_id, '|', content), 'Int64') else 0 end = 0"
)
out["inside"] = attempt(
    "select count(*) from growth_records where case when record_id = 'G1' "
    "then arrow_cast(concat(member_id, '|', content), 'Int64') else 0 end = 0"
)
out["masked"] = attempt("select max(id_number) || ' ' || max(phone) || ' ' || max(birth_date) from members")
out["alive"] = attempt("select count(*) from members")
conn.close()
print(json.dumps(out, ensure_ascii=False, default=str))
