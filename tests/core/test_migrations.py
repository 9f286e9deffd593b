"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lms.core.db import Base


def test_models_and_migrations_agree(app, db):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_sqlite_is_tuned_for_concurrent_use(app, db):
    if not db.is_sqlite:
        return
    conn = db.session.connection()
    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_the_migrations_form_one_line_that_can_be_undone(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    from lms.cli import alembic_config

    config = alembic_config(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
