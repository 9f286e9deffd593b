"""Fixtures: ``app``, ``db`` (rolled back after each test), ``client``, ``login_as``, factories.

Tests run on SQLite by default. ``LMS_TEST_DATABASE_URL`` points them at
PostgreSQL and ``LMS_TEST_REDIS_URL`` at Redis; with ``CI=true`` a missing
service is a failure, elsewhere the tests that need it are skipped and the
summary says so.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context, has_request_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from lms import create_app
from lms.cli import alembic_config
from lms.core.cache import clear_all
from lms.core.db import Base, write_intent
from lms.extensions import db as database
from tests import factories

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: ``make test`` runs the suite on SQLite, then (when a PostgreSQL URL is given)
#: again with ``LMS_TEST_BACKEND=postgresql``.
PG_CONFIGURED = os.environ.get("LMS_TEST_DATABASE_URL", "")
PG_URL = PG_CONFIGURED if os.environ.get("LMS_TEST_BACKEND") == "postgresql" else ""
REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "")
_SKIPPED_SERVICES: dict[str, str] = {}


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# --- the test database --------------------------------------------------------

def _postgres_url() -> str:
    """A per-xdist-worker PostgreSQL database, created fresh."""
    url = make_url(PG_URL)
    name = f"{url.database}_{_worker_suffix()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway instance directory (keys, SQLite files, search index)."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def database_url(instance_dir: Path) -> str:
    """The migrated test database (SQLite file, or PostgreSQL when configured)."""
    from alembic import command

    url = _postgres_url() if PG_URL else f"sqlite:///{instance_dir / 'test.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def base_config(instance_dir: Path, database_url: str, tmp_path_factory) -> dict[str, Any]:
    """Settings every test app starts from."""
    return {
        "TESTING": True,
        "INSTANCE_DIR": str(instance_dir),
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "SECRET_KEY": "test-secret",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "REDIS_URL": "",
        "JOB_QUEUE": "memory",
        # Tests read English unless they choose another language (the product default is bo).
        "DEFAULT_LOCALE": "en",
        "SERVER_NAME": "localhost",
    }


@pytest.fixture
def app(base_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """A fresh app on the shared test database, with a search index of its own."""
    app = create_app({**base_config, "SEARCH_INDEX_PATH": str(tmp_path / "search")})
    app.test_client_class = YontenClient
    clear_all()  # revisions roll back between tests, so cached pages must go too
    if not event.contains(database.engine, "before_cursor_execute",
                          _refuse_writes_without_intent):
        event.listen(database.engine, "before_cursor_execute", _refuse_writes_without_intent)
    with app.app_context():
        yield app


_DML = ("INSERT", "UPDATE", "DELETE")


def _refuse_writes_without_intent(conn, cursor, statement, parameters, context, executemany):
    """A read-only request (GET) must do its writes inside ``db.write_phase()``.

    On SQLite a deferred read transaction cannot become a writer safely, so a
    write that slips into a GET fails in production only under load; here it
    fails every time. (Tests themselves may write in a read phase: only
    requests are held to it.)
    """
    if statement.lstrip()[:6].upper() in _DML and not write_intent.get() \
            and has_request_context():
        raise AssertionError(f"a write outside a write phase: {statement[:80]}")


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """The database, inside a transaction rolled back when the test ends.

    Code under test commits as usual; with ``create_savepoint`` each commit
    only releases a savepoint of the outer transaction.
    """
    connection = database.engine.connect()
    outer = connection.begin()
    database.session.remove()
    database.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    previous_bind, database.bind = database.bind, connection
    try:
        yield database
    finally:
        database.session.remove()
        database.bind = previous_bind
        database.session.configure(bind=previous_bind,
                                   join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()


@pytest.fixture
def committed_db(app: Flask) -> Iterator[Any]:
    """The database with real commits (threads, workers, live servers); emptied afterwards."""
    database.session.remove()
    yield database
    database.session.remove()
    empty_database(database.engine)


@pytest.fixture
def committed_make(committed_db: Any):
    """Factories whose data is really committed (for threads and live servers)."""
    return factories.Factories(committed_db.session)


def empty_database(engine) -> None:
    """Delete every row of every table, children first."""
    names = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables
                               if t.name in names)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in names:
                    conn.execute(table.delete())


# --- clients ----------------------------------------------------------------

class YontenClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, unless told not to.

    The ``app`` fixture keeps one app context for the whole test, which Flask
    reuses for each request; ``g`` is emptied before every request so nothing
    (the logged-in user, a CSRF token) leaks from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any):
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "json" not in kwargs:
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        elif csrf and "json" in kwargs:
            headers = dict(kwargs.pop("headers", {}) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app: Flask, db: Any) -> YontenClient:
    """An HTTP client on the rolled-back database."""
    return app.test_client()


@pytest.fixture
def login_as(client: YontenClient):
    """Log the client in as a user: ``login_as(user)``."""

    def login(user) -> YontenClient:
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return login


@pytest.fixture
def make(db: Any):
    """Model factories bound to the test database: ``make.user(role=...)``."""
    return factories.Factories(db.session)


def form_errors(html: str) -> list[str]:
    """The error messages a page shows beside fields and above forms."""
    return [re.sub(r"<[^>]+>", "", m).strip()
            for m in re.findall(r'class="(?:error|form-errors)"[^>]*>(.*?)</(?:p|div)>', html,
                                flags=re.S)]


# --- external services ----------------------------------------------------------

def require_service(name: str, available: bool, how: str) -> None:
    """Skip (fail in CI) a test whose service is not configured."""
    if available:
        return
    message = f"{name} not configured: {how}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required)")
    _SKIPPED_SERVICES[name] = how
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    """The Redis the tests may use (``LMS_TEST_REDIS_URL``)."""
    require_service("Redis", bool(REDIS_URL), "set LMS_TEST_REDIS_URL=redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        _SKIPPED_SERVICES["Redis"] = f"unreachable at {REDIS_URL}"
        pytest.skip(f"Redis unreachable: {exc}")
    return REDIS_URL


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not PG_CONFIGURED:
        raise pytest.UsageError("CI=true but LMS_TEST_DATABASE_URL is not set: "
                                "CI must run the suite on PostgreSQL.")
    if os.environ.get("LMS_TEST_BACKEND") == "postgresql" and not PG_CONFIGURED:
        raise pytest.UsageError("LMS_TEST_BACKEND=postgresql needs LMS_TEST_DATABASE_URL.")
    if IN_CI and not REDIS_URL:
        raise pytest.UsageError("CI=true but LMS_TEST_REDIS_URL is not set.")


def pytest_report_header(config: pytest.Config) -> list[str]:
    db_line = f"database: PostgreSQL ({make_url(PG_URL).render_as_string()})" if PG_URL \
        else "database: SQLite (set LMS_TEST_DATABASE_URL for PostgreSQL)"
    redis_line = f"redis: {REDIS_URL}" if REDIS_URL else "redis: not configured"
    return [db_line, redis_line]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    notes = []
    if not PG_CONFIGURED:
        notes.append("PostgreSQL: not used; this run was on SQLite "
                     "(set LMS_TEST_DATABASE_URL to run on PostgreSQL too).")
    for name, how in sorted(_SKIPPED_SERVICES.items()):
        notes.append(f"{name}: tests skipped ({how}).")
    if notes:
        terminalreporter.section("services")
        for line in notes:
            terminalreporter.write_line(line)

