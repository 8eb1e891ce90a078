"""The domain store: one SQLAlchemy engine pair over SQLite (WAL) or PostgreSQL.

Plain Python and synchronous, so the CLI and the tests use it directly; the
server calls it from a thread pool (see ``DomainService``), never on the event loop.

Write transactions are serialised (``BEGIN IMMEDIATE`` on SQLite, SERIALIZABLE on
PostgreSQL) so invariants that read-then-write — "the last admin stays", "a space
name is taken once" — hold across threads and across processes (a CLI beside a
running server).

On PostgreSQL, SERIALIZABLE alone makes the loser of such a race fail with a
serialization failure (SQLSTATE 40001) that nobody could retry: the body of
``with store.write()`` runs once. So writers also queue, one at a time, on a table
lock taken before the transaction's snapshot (``LOCK TABLE`` takes none) — what
``BEGIN IMMEDIATE`` does on SQLite. The loser then sees the winner's commit and
refuses cleanly (409), as it does on SQLite. Readers never wait for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

# Self-conflicting, so writers queue; plain SELECTs (readers) take ACCESS SHARE and pass.
_PG_WRITE_LOCK = text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
# Any constant key shared by every jupyter-spaces migrator ("jspaces" in ASCII).
_PG_MIGRATION_LOCK = text("SELECT pg_advisory_lock(29963274038764915)")
_PG_MIGRATION_UNLOCK = text("SELECT pg_advisory_unlock(29963274038764915)")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """Sessions for reading and for serialised writing, plus schema migration."""

    def __init__(self, url: str):
        self.url = url
        self._queue_writers = not url.startswith("sqlite")
        if url.startswith("sqlite"):
            self.read_engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.read_engine = create_engine(url, pool_pre_ping=True)
            self.write_engine = self.read_engine.execution_options(isolation_level="SERIALIZABLE")
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self._migration_lock(), self.write_engine.connect() as conn:
            sqlite = not self._queue_writers
            if sqlite:
                # A migration may rebuild a table (SQLite's way to change one); with
                # foreign keys on, dropping the old table would cascade to its children.
                # The pragma only works outside a transaction, hence on the raw connection.
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise RuntimeError("A migration left rows whose references are broken.")
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """On PostgreSQL, one migrator at a time (a server and the CLI may start together).

        A session-level advisory lock on a connection of its own: the migration's
        SERIALIZABLE snapshot must be taken after the wait, not before it. SQLite's
        BEGIN IMMEDIATE already serialises migrators.
        """
        if not self._queue_writers:
            yield
            return
        with self.read_engine.connect() as lock:
            lock.execute(_PG_MIGRATION_LOCK)
            lock.commit()
            try:
                yield
            finally:
                lock.execute(_PG_MIGRATION_UNLOCK)
                lock.commit()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._write() as session, session.begin():
            if self._queue_writers:
                session.execute(_PG_WRITE_LOCK)
            yield session

    def close(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()
