"""Tables in a PostgreSQL database, read and written through ADBC.

The access library was chosen by measurement (``benchmarks/connectors.py --candidates``, a
1M-row table of ids, floats, text, timestamps and booleans on a local server): through the
ADBC PostgreSQL driver (``adbc-driver-postgresql``, libpq inside the wheel) the connector
loads 1.2 M rows/s, because the driver streams the table with ``COPY ... (FORMAT binary)``
straight into Arrow record batches; ConnectorX reads 1.1 M rows/s, psycopg 3 with
``fetchall`` 0.4 M rows/s and SQLAlchemy with ``pandas.read_sql`` 0.3 M rows/s. DuckDB's
``postgres`` extension is downloaded at run time from DuckDB's own server, which relgraph
cannot rely on. ADBC also writes Arrow tables with binary ``COPY`` (``adbc_ingest``), so one
maintained library does both directions (ConnectorX only reads).

Connection settings come from ``dsn`` (a ``postgresql://`` URI or a ``key=value`` string),
then keyword arguments, then libpq's ``PG*`` environment variables (``PGHOST``, ``PGPORT``,
``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSSLMODE``, ...) and ``~/.pgpass``. A password
given as an argument is kept in memory only: it is not in ``repr``, in error messages, in
a pickled connector (a user's own pickles: relgraph's job home holds none), or in the job
store; a worker process running a non-blocking job gets it through its environment
(``PGPASSWORD``). A job's files describe
the connector without it (:meth:`PostgresConnector.to_spec`); a connector rebuilt from them
in the process that was given the password (an inline job, or the commit of a dead worker
completed there) finds it in memory (:meth:`PostgresConnector.share_secrets`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pandas as pd
import pyarrow as pa

from relgraph.connector.base import ForeignKey, TableSchema
from relgraph.connector.database import (
    DatabaseConnector,
    WriteMode,
    import_driver,
    quote,
)
from relgraph.errors import (
    ConnectorError,
    DatabaseConnectionError,
    DatabasePermissionError,
    TableNotFoundError,
    UnsupportedColumnTypeError,
)

#: PostgreSQL types read as they are (the driver returns the matching Arrow type).
_NATIVE = {"int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar", "bpchar",
           "name", "date", "timestamp", "timestamptz", "time", "interval", "bytea"}
#: Types cast on read: decimals to double precision, identifiers and documents to text.
_CASTS = {"numeric": "float8", "money": "numeric::float8", "uuid": "text", "json": "text",
          "jsonb": "text", "xml": "text", "inet": "text", "cidr": "text", "macaddr": "text",
          "macaddr8": "text", "citext": "text", "timetz": "text", "bit": "text",
          "varbit": "text"}
_ARRAY_ITEMS = {"int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar",
                "bpchar"}
_ALIASES = {"database": "dbname", "username": "user", "db": "dbname"}

_COLUMNS_SQL = """
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
       COALESCE(bt.typname, t.typname)::text, COALESCE(bt.typtype, t.typtype)::text,
       COALESCE(et.typname, '')::text, has_column_privilege(c.oid, a.attnum, 'SELECT')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_type et ON COALESCE(bt.typcategory, t.typcategory) = 'A'
     AND et.oid = COALESCE(bt.typelem, t.typelem)
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_KEYS_SQL = """
SELECT con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       rc.relname::text, rn.nspname::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND con.contype IN ('p', 'f')
ORDER BY con.conname
"""


#: Passwords of output connectors handed to a job in this process, by connection settings
#: (never written anywhere): see :meth:`PostgresConnector.share_secrets`.
_SHARED_PASSWORDS: dict[str, str] = {}


def _parse_dsn(dsn: str) -> dict[str, str]:
    """Settings of a ``postgresql://`` URI or a libpq ``key=value`` string."""
    if dsn.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(dsn)
        out: dict[str, str] = {}
        if parts.username:
            out["user"] = unquote(parts.username)
        if parts.password is not None:
            out["password"] = unquote(parts.password)
        host = parts.netloc.rpartition("@")[2]
        hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if not hostname and not host.startswith(":"):
            hostname, port = port, ""
        if hostname:
            out["host"] = unquote(hostname.strip("[]"))
        if port:
            out["port"] = port
        if parts.path.strip("/"):
            out["dbname"] = unquote(parts.path.lstrip("/"))
        out.update(parse_qsl(parts.query))
        return out
    out = {}
    for match in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn):
        value = match.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[match.group(1)] = value
    return out


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class PostgresConnector(DatabaseConnector):
    """The tables and views of one schema of a PostgreSQL database; also an output connector.

    Args:
        dsn: a ``postgresql://user@host:port/dbname`` URI or ``"host=... dbname=..."``
            string (optional).
        schema_name: the schema whose tables are listed, read and written
            (default ``public``).
        **params: libpq settings (``host``, ``port``, ``user``, ``password``, ``dbname``,
            ``sslmode``, ``connect_timeout``, ...); they override ``dsn``. Anything unset
            comes from the ``PG*`` environment variables.

    Example::

        conn = rg.PostgresConnector(host="db.internal", dbname="shop")  # PGUSER, PGPASSWORD
        graph = rg.Graph.from_connector(conn)
    """

    source_type = "postgres"
    scheme = "postgresql"
    max_identifier_length = 63  # NAMEDATALEN - 1: longer names are cut by the server

    def __init__(self, dsn: str | None = None, *, schema_name: str = "public",
                 **params: str | int) -> None:
        settings = _parse_dsn(dsn) if dsn else {}
        for key, value in params.items():
            settings[_ALIASES.get(key, key)] = str(value)
        self._password: str | None = settings.pop("password", None)
        self.params = settings
        self.schema_name = schema_name
        self._kinds: dict[tuple[str, str], tuple[str, str, str, bool]] = {}
        self._local = threading.local()

    # ------------------------------------------------------------------ identity
    def _setting(self, key: str, env: str, default: str) -> str:
        return self.params.get(key) or os.environ.get(env) or default

    @property
    def user(self) -> str:
        import getpass

        return self._setting("user", "PGUSER", getpass.getuser())

    def _where(self) -> str:
        host = self._setting("host", "PGHOST", "localhost")
        port = self._setting("port", "PGPORT", "5432")
        dbname = self._setting("dbname", "PGDATABASE", self.user)
        return f"{host}:{port}/{dbname}"

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        extra = f", schema_name={self.schema_name!r}" if self.schema_name != "public" else ""
        return f"PostgresConnector({shown}{extra})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.params, other.schema_name) == (  # type: ignore[attr-defined]
            self.params, self.schema_name)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params.items())), self.schema_name))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_password"] = None  # never pickled with the connector
        state["_kinds"] = {}
        del state["_local"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def location(self, table: str) -> str:
        return f"postgresql://{self.user}@{self._where()}#{self.schema_name}.{table}"

    def _qualified(self, table: str) -> str:
        return f"{quote(self.schema_name)}.{quote(table)}"

    def secret_env(self) -> dict[str, str]:
        return {"PGPASSWORD": self._password} if self._password else {}

    def to_spec(self) -> dict[str, Any]:
        return {"type": self.scheme, "params": dict(self.params),
                "schema_name": self.schema_name}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> PostgresConnector:
        params = {str(k): str(v) for k, v in (spec.get("params") or {}).items()
                  if k != "password"}
        return cls(schema_name=str(spec.get("schema_name") or "public"), **params)

    def _secret_key(self) -> str:
        return json.dumps(sorted(self.params.items()))

    def share_secrets(self) -> None:
        """Let connectors rebuilt from :meth:`to_spec` in this process use this connector's
        password (kept in memory only; a worker process gets ``PGPASSWORD`` instead)."""
        if self._password:
            _SHARED_PASSWORDS[self._secret_key()] = self._password

    def _login_password(self) -> str | None:
        return self._password or _SHARED_PASSWORDS.get(self._secret_key())

    def _scrub(self, text: str) -> str:
        password = self._login_password()
        return text.replace(password, "***") if password else text

    # ------------------------------------------------------------------ connections
    def _conninfo(self) -> str:
        settings = dict(self.params)
        settings.setdefault("application_name", "relgraph")
        if "connect_timeout" not in settings and not os.environ.get("PGCONNECT_TIMEOUT"):
            settings["connect_timeout"] = "10"
        password = self._login_password()
        if password:
            settings["password"] = password
        return " ".join(f"{k}={_conninfo_value(v)}" for k, v in settings.items())

    @contextmanager
    def _session(self) -> Iterator[None]:
        if getattr(self._local, "con", None) is not None:
            yield
            return
        with self._connect() as con:
            self._local.con = con
            try:
                yield
            finally:
                self._local.con = None

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        adbc_pg = _driver()

        shared = getattr(self._local, "con", None)
        if shared is not None:  # inside _session: one connection (and login) for all
            yield shared
            return
        try:
            con = adbc_pg.connect(self._conninfo())
        except adbc_pg.Error as exc:
            raise self._connect_error(exc) from None
        try:
            yield con
        finally:
            con.close()

    def _connect_error(self, exc: Exception) -> ConnectorError:
        msg = " ".join(self._scrub(str(exc)).split()).rstrip(".?")
        where = f"PostgreSQL server {self._where()} (user {self.user!r})"
        if "password authentication failed" in msg or "no password supplied" in msg:
            return DatabaseConnectionError(
                f"{where} refused the login: {msg}. Check the user and password (password=..., "
                "the PGPASSWORD environment variable, or ~/.pgpass).")
        if re.search(r'database ".*" does not exist', msg):
            return DatabaseConnectionError(
                f"{where}: {msg}. Pass an existing database: dbname=... or PGDATABASE.")
        return DatabaseConnectionError(
            f"Cannot reach {where}: {msg}. Check that the server is running and the host and "
            "port (host=/port= or PGHOST/PGPORT) are right.")

    def _query_error(self, exc: Exception, table: str | None,
                     action: str = "read") -> ConnectorError:
        msg = self._scrub(str(exc)).strip()
        state = getattr(exc, "sqlstate", None)
        name = f"{self.schema_name}.{table}" if table else self.schema_name
        if state == "42501":
            grant = (f"GRANT SELECT ON {name} TO {self.user}" if action == "read" else
                     f"GRANT CREATE ON SCHEMA {self.schema_name} TO {self.user}")
            return DatabasePermissionError(
                f"User {self.user!r} may not {action} '{name}' on {self._where()}: {msg}. Ask "
                f"the owner to run: {grant};")
        if state == "42P01":
            return TableNotFoundError(f"Table '{name}' does not exist on {self._where()}: {msg}")
        return ConnectorError(f"PostgreSQL query on '{name}' failed: {msg}")

    def _fetch(self, sql: str, params: Sequence[Any] = (),
               *more: tuple[str, Sequence[Any]]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (and of each further ``(sql, params)``, concatenated: one
        connection for all of them)."""
        adbc_pg = _driver()

        rows: list[tuple[Any, ...]] = []
        with self._connect() as con, con.cursor() as cur:
            for query, args in ((sql, params), *more):
                try:
                    cur.execute(query, tuple(args) if args else None)
                    rows += cur.fetchall()
                except adbc_pg.Error as exc:
                    raise self._query_error(exc, None) from None
        return rows

    # ------------------------------------------------------------------ catalog
    def _list_tables(self) -> list[str]:
        rows = self._fetch(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "ORDER BY 1", [self.schema_name])
        if not rows and not self._fetch("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                                        [self.schema_name]):
            raise ConnectorError(f"Schema '{self.schema_name}' does not exist on "
                                 f"{self._where()}; pass schema_name=... (default 'public').")
        return [str(r[0]) for r in rows]

    def _describe(self, name: str) -> TableSchema:
        rows = self._fetch(_COLUMNS_SQL, [self.schema_name, name],
                           (_KEYS_SQL, [self.schema_name, name]))
        cols = [r for r in rows if len(r) == 6]
        keys = [r for r in rows if len(r) == 5]
        if not cols:
            raise TableNotFoundError(f"PostgresConnector has no table '{self.schema_name}."
                                     f"{name}' on {self._where()}.")
        types: dict[str, str] = {}
        for col, shown, typname, typtype, elem, can_read in cols:
            types[str(col)] = str(shown)
            self._kinds[(name, str(col))] = (str(typname), str(typtype), str(elem),
                                             bool(can_read))
        pk: tuple[str, ...] = ()
        fks = []
        for kind, columns, ref, ref_schema, ref_columns in keys:
            if kind == "p":
                pk = tuple(columns)
            else:
                target = str(ref) if ref_schema == self.schema_name else f"{ref_schema}.{ref}"
                fks.append(ForeignKey(tuple(columns), target, tuple(ref_columns)))
        return TableSchema(name, types, pk, tuple(fks))

    def _select_expr(self, table: str, column: str, db_type: str) -> str:
        typname, typtype, elem, can_read = self._kinds[(table, column)]
        name = quote(column)
        if not can_read:
            raise DatabasePermissionError(
                f"User {self.user!r} may not read column '{table}.{column}' of schema "
                f"'{self.schema_name}' on {self._where()}. Ask the owner to run: GRANT SELECT "
                f"ON {self.schema_name}.{table} TO {self.user}; or leave the column out "
                f"(column_names=[...]).")
        if typname in _NATIVE:
            return name
        if typtype == "e":  # enum
            return f"{name}::text AS {name}"
        if typname in _CASTS:
            return f"{name}::{_CASTS[typname]} AS {name}"
        if elem in _ARRAY_ITEMS:
            return name
        if elem == "numeric":
            return f"{name}::float8[] AS {name}"
        raise UnsupportedColumnTypeError(
            f"Column '{table}.{column}' has PostgreSQL type {db_type}, which relgraph cannot "
            f"read. Cast it in a view (CREATE VIEW {table}_v AS SELECT {column}::text AS "
            f"{column}, ... FROM {self.schema_name}.{table}), or leave it out: "
            f"Table.from_source_table(conn['{table}'], column_names=[...]).")

    # ------------------------------------------------------------------ reading
    @contextmanager
    def _reader(self, sql: str, batch_size: int) -> Iterator[pa.RecordBatchReader]:
        adbc_pg = _driver()

        table = re.search(r'FROM "[^"]*"\."((?:[^"]|"")*)"', sql)
        with self._connect() as con, con.cursor() as cur:
            try:
                cur.execute(sql)
                yield cur.fetch_record_batch()
            except (adbc_pg.Error, pa.ArrowException, OSError) as exc:
                raise self._query_error(exc, table.group(1) if table else None) from None

    # ------------------------------------------------------------------ writing
    def _exists(self, cur: Any, table: str) -> bool:
        cur.execute("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = $1 AND c.relname = $2", (self.schema_name, table))
        return bool(cur.fetchall())

    def _write(self, df: pd.DataFrame, table: str, mode: WriteMode) -> None:
        adbc_pg = _driver()

        data = _to_arrow(df)
        with self._connect() as con, con.cursor() as cur:
            try:  # one transaction: the driver does not autocommit
                if mode is WriteMode.APPEND and self._exists(cur, table):
                    cur.adbc_ingest(table, data, mode="append", db_schema_name=self.schema_name)
                else:
                    tmp = self.tmp_name(table)
                    cur.adbc_ingest(tmp, data, mode="create", db_schema_name=self.schema_name)
                    cur.execute(f"DROP TABLE IF EXISTS {self._qualified(table)}")
                    cur.execute(f"ALTER TABLE {self._qualified(tmp)} RENAME TO {quote(table)}")
                con.commit()
            except adbc_pg.Error as exc:
                con.rollback()
                raise self._query_error(exc, table, action="write") from None
            except BaseException:
                con.rollback()
                raise

    def _transaction(self, table: str, *statements: str | tuple[str, pa.Table]) -> None:
        """Run ``statements`` (SQL, or ``(table, rows)`` to create and fill a table) in
        one transaction; on any error it is rolled back."""
        adbc_pg = _driver()

        with self._connect() as con, con.cursor() as cur:
            try:  # one transaction: the driver does not autocommit
                for stmt in statements:
                    if isinstance(stmt, tuple):
                        cur.adbc_ingest(stmt[0], stmt[1], mode="create",
                                        db_schema_name=self.schema_name)
                    else:
                        cur.execute(stmt)
                con.commit()
            except adbc_pg.Error as exc:
                con.rollback()
                raise self._query_error(exc, table, action="write") from None
            except BaseException:
                con.rollback()
                raise

    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:
        self._transaction(tmp, f"DROP TABLE IF EXISTS {self._qualified(tmp)}",
                          (tmp, _to_arrow(df)))

    def publish_table(self, tmp: str, table: str,
                      mode: WriteMode | str = WriteMode.OVERWRITE) -> None:
        self.check_name(table)
        if WriteMode(str(mode).upper()) is WriteMode.APPEND and self.has_table(table):
            names = ", ".join(quote(c) for c in self.table_columns(tmp))
            self._transaction(table, f"INSERT INTO {self._qualified(table)} ({names}) "
                                     f"SELECT {names} FROM {self._qualified(tmp)}",
                              f"DROP TABLE {self._qualified(tmp)}")
            return
        self._transaction(table, f"DROP TABLE IF EXISTS {self._qualified(table)}",
                          f"ALTER TABLE {self._qualified(tmp)} RENAME TO {quote(table)}")

    def drop_table(self, table: str) -> None:
        self._transaction(table, f"DROP TABLE IF EXISTS {self._qualified(table)}")

    def has_table(self, table: str) -> bool:
        return bool(self._fetch(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            [self.schema_name, table]))

    def check_writable(self, tables: Sequence[str], mode: WriteMode | str) -> None:
        super().check_writable(tables, mode)
        rows = self._fetch("SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n "
                           "WHERE n.nspname = $1", [self.schema_name])
        if not rows:
            raise ConnectorError(f"Schema '{self.schema_name}' does not exist on "
                                 f"{self._where()}; create it (CREATE SCHEMA "
                                 f"{self.schema_name};) or pass schema_name=....")
        can_create = bool(rows[0][0])
        for table in tables:
            found = self._fetch(
                "SELECT pg_has_role(c.relowner, 'USAGE'), has_table_privilege(c.oid, 'INSERT') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND c.relname = $2", [self.schema_name, table])
            appends = WriteMode(str(mode).upper()) is WriteMode.APPEND and bool(found)
            if appends and not found[0][1]:
                raise DatabasePermissionError(
                    f"User {self.user!r} may not insert into '{self.schema_name}.{table}' on "
                    f"{self._where()}. Ask the owner to run: GRANT INSERT ON "
                    f"{self.schema_name}.{table} TO {self.user};")
            if not appends and not can_create:
                raise DatabasePermissionError(
                    f"User {self.user!r} may not create tables in schema '{self.schema_name}' "
                    f"on {self._where()}, needed to write '{table}'. Ask the owner to run: "
                    f"GRANT CREATE ON SCHEMA {self.schema_name} TO {self.user};")
            if not appends and found and not found[0][0]:
                raise DatabasePermissionError(
                    f"User {self.user!r} does not own '{self.schema_name}.{table}' on "
                    f"{self._where()}, so it cannot replace it. Write to another table "
                    "(output_table_name=...), append (write_mode='APPEND'), or ask the owner "
                    f"to run: ALTER TABLE {self.schema_name}.{table} OWNER TO {self.user};")


def _driver() -> Any:
    return import_driver("adbc_driver_postgresql.dbapi", "adbc-driver-postgresql")


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """``df`` as Arrow, with timestamps at the microsecond precision PostgreSQL stores."""
    data = pa.Table.from_pandas(df, preserve_index=False)
    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            data = data.set_column(i, field.name, data.column(i).cast(
                pa.timestamp("us", tz=field.type.tz), safe=False))
        elif pa.types.is_large_string(field.type):
            data = data.set_column(i, field.name, data.column(i).cast(pa.string()))
    return data
