"""Database plumbing: the declarative base, the session, SQLite tuning and mixins.

One engine per database URL per process, one scoped session per thread,
removed at the end of every app context. Operations flush; the controller,
task or command that called them commits once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask import Flask
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Enum,
    MetaData,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (every ``*_at`` column holds UTC)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back timezone-aware.

    SQLite has no time zones; normalising at the boundary keeps comparisons
    between Python and the database honest on both backends.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def enum_column(enum: type[StrEnum], **kwargs: Any) -> Enum:
    """A portable string column holding an enum's values (no native DB enum to migrate)."""
    return Enum(enum, native_enum=False, create_constraint=False, length=32,
                values_callable=lambda e: [m.value for m in e], **kwargs)


class Base(DeclarativeBase):
    """Base class of every model; constraint names are deterministic for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    """``created_at`` and ``updated_at`` in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a writer writes; the busy timeout makes a
    # second writer wait instead of failing; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Whether the current unit of work means to write. Requests with a safe
#: method (GET, HEAD) clear it; jobs, commands and POSTs keep the default.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def writes_later(view: Any) -> Any:
    """Mark a view that reads (and waits on the network) before it writes.

    Its request starts with a read-only transaction; the view calls
    ``db.begin_write()`` when it is ready to write, so a slow client never
    holds SQLite's write lock while its bytes trickle in.
    """
    view.lms_writes_later = True
    return view


def _begin(conn: Connection) -> None:
    # A deferred SQLite transaction that reads and then writes fails with
    # SQLITE_BUSY if another writer committed in between (no retry is
    # possible). A unit of work that means to write takes the write lock up
    # front with BEGIN IMMEDIATE and waits for it under the busy timeout;
    # read-only requests stay deferred so readers never queue behind writers.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


class _Prepared:
    """A select compiled for one database: its SQL, how to pass parameters, and how to
    convert what the driver returns (see :meth:`Database.first_apart`)."""

    def __init__(self, stmt: Any, dialect: Any) -> None:
        self._stmt = stmt  # kept alive, so its id stays its own
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self._compiled = compiled
        self._positions = compiled.positiontup if compiled.positional else None
        self._processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                            for column in stmt.selected_columns]

    def parameters(self, values: dict[str, Any]) -> Any:
        named = self._compiled.construct_params(values)
        return [named[key] for key in self._positions] if self._positions else named

    def convert(self, row: Any) -> tuple:
        return tuple(value if process is None or value is None else process(value)
                     for process, value in zip(self._processors, row, strict=True))


@dataclass
class Page:
    """A page of results and where it sits among the others."""

    items: list[Any]
    number: int
    per_page: int
    total: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


class Database:
    """The app's database: engine, thread-scoped session and helpers."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._prepared: dict[tuple[int, Any], _Prepared] = {}
        self._lock = threading.Lock()
        self.bind: Engine | Connection | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False))

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        self.bind = self.engine_for(url, echo=app.config["DATABASE_ECHO"])
        self.session.remove()
        self.session.configure(bind=self.bind)

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def engine_for(self, url: str, *, echo: bool = False) -> Engine:
        """The process-wide engine for ``url`` (created once, then reused)."""
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = self._create_engine(url, echo)
                self._engines[url] = engine
            return engine

    @staticmethod
    def _create_engine(url: str, echo: bool) -> Engine:
        if url.startswith("sqlite"):
            # Keep connections open: closing the last connection to a WAL database
            # checkpoints and deletes the WAL, which would cost every request.
            engine = create_engine(
                url, echo=echo, pool_size=8, max_overflow=16, pool_pre_ping=False,
                connect_args={"timeout": 30, "check_same_thread": False},
            )
            event.listen(engine, "connect", _tune_sqlite)
            # Take control of transactions from pysqlite so BEGIN IMMEDIATE works.
            event.listen(engine, "connect",
                         lambda dbapi_conn, _rec: setattr(dbapi_conn, "isolation_level", None))
            event.listen(engine, "begin", _begin)
            return engine
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @property
    def engine(self) -> Engine:
        assert self.bind is not None, "db.init_app() has not run"
        return self.bind if isinstance(self.bind, Engine) else self.bind.engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def independent_session(self) -> Iterator[Session]:
        """A short-lived session outside the current unit of work, committed on exit.

        Job progress is written this way so the people watching it see it
        while the job's own transaction is still open.
        """
        session = Session(bind=self.bind, expire_on_commit=False)
        token = write_intent.set(True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            write_intent.reset(token)

    def begin_write(self) -> None:
        """End the read phase of a unit of work; what follows takes the write lock up front."""
        self.session.commit()
        write_intent.set(True)

    def begin_snapshot(self) -> None:
        """End the current transaction and start one that reads one snapshot throughout.

        PostgreSQL's default isolation gives each statement a snapshot of its
        own; work that reads with many statements and must agree with itself
        (an export reading its entries and, batch by batch, the names they
        point to) asks for REPEATABLE READ. SQLite's transactions are
        snapshots already.
        """
        self.session.commit()
        if not self.is_sqlite and not isinstance(self.bind, Connection):
            # (Bound to a connection, the session joins a transaction its owner began,
            # as in tests; that transaction's isolation stands.)
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    @contextlib.contextmanager
    def write_phase(self) -> Iterator[None]:
        """A short write inside a read-only request (a page view that records progress).

        Ends the read snapshot, takes the write lock for the block, commits it,
        and lets the rest of the request read without holding the lock.
        """
        self.session.commit()
        token = write_intent.set(True)
        try:
            yield
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        finally:
            write_intent.reset(token)

    def first_apart(self, stmt: Any, params: dict[str, Any]) -> tuple | None:
        """The first row a read-only statement selects, read on its own pooled connection,
        outside the unit of work: what a request that needs one answer, fast, reads (a
        kept page's fingerprint, read before anything else).

        The statement is compiled once per database and run on the driver's connection
        without SQLAlchemy's execution machinery (a third of such a request's time);
        its columns are converted as SQLAlchemy would. One statement reads one
        snapshot by itself. Bound to a connection, as in tests, it reads on that one.
        """
        if isinstance(self.bind, Connection):
            row = self.bind.execute(stmt, params).first()
            return None if row is None else tuple(row)
        engine = self.engine
        prepared = self._prepared.get((id(stmt), engine.url))
        if prepared is None:
            prepared = self._prepared[(id(stmt), engine.url)] = _Prepared(stmt, engine.dialect)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(prepared.sql, prepared.parameters(params))
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which ends the driver's transaction
        return None if row is None else prepared.convert(row)

    def one_or_create(self, stmt: Any, make: Callable[[], Any], *, locked: bool = False) -> Any:
        """The row ``stmt`` selects, else ``make()``'s new row, added in a savepoint.

        Two units of work (two tabs) may both find nothing; the second insert
        then breaks a unique constraint inside its savepoint, and the row the
        first one made is selected instead. ``locked``: the row returned is
        locked until the commit and read afresh (PostgreSQL locks the row; on
        SQLite a unit of work that writes holds the database's write lock from
        its start); a new row is held by this unit of work until it commits.
        """
        if locked:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalar(stmt)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = make()
                    self.session.add(row)
            except IntegrityError:  # made meanwhile by another unit of work
                row = self.session.scalar(stmt)
        return row

    def flush_unique(self, clashes: dict[str, Callable[[], Exception]]) -> None:
        """Flush, turning a broken unique constraint into the error of its column.

        A check that a code or a phone number is free cannot see a parallel
        request's row before it commits; when both insert, the second breaks the
        constraint here. ``clashes`` maps a column's name to the error to raise
        when the database names it (the caller's controller rolls back).
        """
        try:
            self.session.flush()
        except IntegrityError as exc:
            text = str(exc.orig)
            for column, error in clashes.items():
                if column in text:
                    raise error() from None
            raise

    def get_or_404(self, model: type, ident: Any) -> Any:
        """The row with primary key ``ident`` or a 404."""
        from flask import abort

        obj = self.session.get(model, ident)
        if obj is None:
            abort(404)
        return obj

    def paginate(self, stmt: Any, page: int, per_page: int = 20) -> Page:
        """One page of a select's results, with the total for the pager."""
        total = self.count(stmt)
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        items = list(self.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
        return Page(items=items, number=page, per_page=per_page, total=total, pages=pages)

    def count(self, stmt: Any) -> int:
        """Number of rows a select would return."""
        return self.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
