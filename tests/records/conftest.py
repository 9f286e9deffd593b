"""Helpers for the record's tests: the ``lms`` command line and tampering behind the app's back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text


@pytest.fixture
def lms_cli(app, db):
    """Run ``lms ...`` against the test database: ``lms_cli("records", "verify")``."""
    from lms.cli import main

    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def tamper(db: Any, sql: str, **params: Any) -> None:
    """Change the ledger with raw SQL, as an intruder with database access would.

    On PostgreSQL the append-only triggers are switched off for the statement
    (the intruder is assumed to own the database); the ORM never sees it.
    """
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    conn.execute(text(sql), params)
    if postgres:
        conn.exec_driver_sql("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
    db.session.expire_all()
