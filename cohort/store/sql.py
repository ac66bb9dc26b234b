"""SqlStore: the Store protocol over SQLAlchemy (SQLite in the daemon).

One engine per store; every `transaction()` is a unit of work on its own pooled connection,
committed when the block ends and rolled back when it raises. Writes go through a Session (the
ORM); reads, in every transaction, through `cohort.store.reads` on the same connection. A
read-only transaction opens no Session at all.

SQLite transactions start with ``BEGIN IMMEDIATE``: the write lock is taken at the start, so
a transaction's checks and its writes are atomic against every other transaction (no lost
updates, no SQLITE_BUSY_SNAPSHOT half-way through), and a waiting writer blocks up to the busy
timeout. `transaction(readonly=True)` starts a plain deferred ``BEGIN`` instead: a consistent
snapshot that runs alongside the writer (WAL), never writes, and ends in a rollback.

Durability: WAL with ``synchronous=FULL``, so every commit is fsynced before it returns. A
journal step recorded as "about to run" is on disk before the backend runs it, and survives a
power loss, not only a crash of the process (``NORMAL`` would only sync at checkpoints).
"database is locked" never reaches a caller: a writer waits for the write lock in ``BEGIN
IMMEDIATE`` (up to the busy timeout), never half-way through its transaction, and readers in
WAL mode do not wait for writers. A transaction never waits for a pooled connection either: the
pool opens more when every one is in use.

An in-memory database (``sqlite://``) is one connection shared by every thread (StaticPool);
its transactions are serialised by a lock. A transaction opened inside another on the same
thread raises RuntimeError (it could only deadlock).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, StaticPool

from cohort.domain.exports import Access, Export
from cohort.domain.model import (
    Group,
    GroupSnapshot,
    GroupType,
    Operation,
    Snapshot,
    Volume,
    VolumeType,
)
from cohort.domain.store import Repository, Store, Transaction
from cohort.errors import StoreBusy
from cohort.store import codec, migrate
from cohort.store.models import Base
from cohort.store.reads import Reader
from cohort.store.repository import SqlRepository

DB_FILE = "cohort.db"
BUSY_TIMEOUT_SECONDS = 30.0
#: Connections kept open for reuse: one per gRPC worker thread (cohort.daemon.server).
POOL_SIZE = 64


class SqlTransaction:
    """The repositories of one unit of work (implements cohort.domain.store.Transaction):
    reads on `dbapi`, the transaction's DBAPI connection; writes through `session`, None in a
    read-only transaction."""

    def __init__(
        self, readers: Mapping[str, Reader[Any]], dbapi: Any, session: Session | None
    ) -> None:
        self.session = session

        def repo(c: codec.Codec[Any]) -> Repository[Any]:
            return SqlRepository(readers[c.kind], dbapi, session)

        self.volume_types: Repository[VolumeType] = repo(codec.VOLUME_TYPES)
        self.group_types: Repository[GroupType] = repo(codec.GROUP_TYPES)
        self.volumes: Repository[Volume] = repo(codec.VOLUMES)
        self.snapshots: Repository[Snapshot] = repo(codec.SNAPSHOTS)
        self.groups: Repository[Group] = repo(codec.GROUPS)
        self.group_snapshots: Repository[GroupSnapshot] = repo(codec.GROUP_SNAPSHOTS)
        self.operations: Repository[Operation] = repo(codec.OPERATIONS)
        self.exports: Repository[Export] = repo(codec.EXPORTS)
        self.accesses: Repository[Access] = repo(codec.ACCESSES)


class SqlStore:
    """The store over one database URL. The schema is not touched here: use `open()` (the
    daemon: migrates), `memory()` (tests), or call `upgrade()` yourself."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self._sqlite = parsed.get_backend_name() == "sqlite"
        in_memory = self._sqlite and parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {"echo": echo}
        if self._sqlite:
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": BUSY_TIMEOUT_SECONDS,
            }
            if in_memory:
                kwargs["poolclass"] = StaticPool
            else:
                kwargs["pool_size"] = POOL_SIZE
                kwargs["max_overflow"] = -1  # no limit: nobody waits for a connection
        self.engine: Engine = create_engine(url, **kwargs)
        #: Compiled reads of each record kind, by codec kind.
        self._readers = {c.kind: Reader(c, self.engine.dialect) for c in codec.ALL}
        #: Connections of read-only transactions, kept checked out of the pool between them.
        self._idle: queue.SimpleQueue[PoolProxiedConnection] = queue.SimpleQueue()
        #: One shared connection (in-memory SQLite) cannot hold two transactions at once.
        self._serial: threading.Lock | None = threading.Lock() if in_memory else None
        self._local = threading.local()
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
            event.listen(self.engine, "checkin", _sqlite_checkin)

    @classmethod
    def open(cls, state_dir: Path) -> SqlStore:
        """The daemon's store: `cohort.db` in `state_dir` (WAL), migrated to the newest schema."""
        state_dir.mkdir(parents=True, exist_ok=True)
        store = cls(f"sqlite:///{state_dir / DB_FILE}")
        try:
            store.upgrade()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def memory(cls, *, migrate: bool = False) -> SqlStore:
        """A private in-memory store for tests, usable from any thread. The schema comes from
        the models (fast), or from the migrations with `migrate=True` (the two are the same;
        a test checks it)."""
        store = cls("sqlite://")
        if migrate:
            store.upgrade()
        else:
            store.create_all()
        return store

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to `revision`."""
        with self._serialised():
            migrate.upgrade(self.engine, revision)

    def create_all(self) -> None:
        """Create the schema straight from the models (tests only; no Alembic version row)."""
        with self._serialised():
            Base.metadata.create_all(self.engine)

    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[SqlTransaction]:
        return _Reading(self) if readonly else self._writing()

    @contextmanager
    def _writing(self) -> Iterator[SqlTransaction]:
        self._enter_thread()
        try:
            with (
                _locked_is_busy(),
                self._serialised(),
                Session(self.engine, expire_on_commit=False) as session,
            ):
                # Start now, so that the transaction holds the write lock before it reads.
                dbapi = session.connection().connection.dbapi_connection
                try:
                    yield SqlTransaction(self._readers, dbapi, session)
                except BaseException:
                    session.rollback()
                    raise
                session.commit()
        finally:
            self._local.active = False

    def _enter_thread(self) -> None:
        if getattr(self._local, "active", False):
            # It would wait on its own write lock (file) or deadlock (memory).
            raise RuntimeError("nested store transaction on one thread")
        self._local.active = True

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        self.engine.dispose()

    def _serialised(self) -> AbstractContextManager[object]:
        return self._serial if self._serial is not None else nullcontext()


@contextmanager
def _locked_is_busy() -> Iterator[None]:
    """SQLite's "database is locked" (the write lock not granted within the busy timeout) is
    the documented busy answer, never an internal error."""
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusy(
                f"busy: the store's write lock was not granted in {BUSY_TIMEOUT_SECONDS:.0f} s; "
                "retry later"
            ) from exc
        raise


class _Reading:
    """A read-only transaction: a connection of the store's own (taken from the pool the
    first time and kept), a deferred ``BEGIN``, a rollback at the end; no Session, since reads
    need none. A class, not a generator: it runs for every read RPC."""

    __slots__ = ("_pooled", "_serial", "_store")

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._serial = store._serialised()
        self._pooled: PoolProxiedConnection | None = None

    def __enter__(self) -> SqlTransaction:
        store = self._store
        store._enter_thread()
        try:
            self._serial.__enter__()
        except BaseException:
            store._local.active = False
            raise
        try:
            try:
                self._pooled = store._idle.get_nowait()
            except queue.Empty:
                self._pooled = store.engine.raw_connection()
            dbapi: Any = self._pooled.dbapi_connection
            if store._sqlite:  # autocommit mode (see _sqlite_connect): begin explicitly
                dbapi.execute("BEGIN")
        except BaseException:
            self.__exit__()
            raise
        return SqlTransaction(store._readers, dbapi, None)

    def __exit__(self, *exc: object) -> None:
        store, pooled = self._store, self._pooled
        try:
            if pooled is not None:
                try:
                    dbapi: Any = pooled.dbapi_connection
                    dbapi.rollback()
                except BaseException:
                    pooled.close()  # back to the pool, which resets or discards it
                    raise
                store._idle.put(pooled)
        finally:
            self._serial.__exit__(None, None, None)
            store._local.active = False


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    finally:
        cursor.close()


def _sqlite_checkin(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # A COMMIT that fails (a deferred foreign key) leaves SQLite's transaction open while
    # SQLAlchemy already counts it as ended; end it before the connection is used again.
    if dbapi_connection is not None and dbapi_connection.in_transaction:
        dbapi_connection.rollback()


def _sqlite_begin(connection: Connection) -> None:
    # Every SQLAlchemy connection writes (a unit of work, a migration): take the write lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


if TYPE_CHECKING:  # mypy proves the protocols are implemented

    def _is_store(store: SqlStore) -> Store:
        return store

    def _is_transaction(tx: SqlTransaction) -> Transaction:
        return tx
