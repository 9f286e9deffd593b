"""Alembic environment: the models' metadata and the URL ``lms db`` passes in."""

from alembic import context
from sqlalchemy import create_engine, pool

import lms  # noqa: F401  (the app package; models register below)
from lms import REGISTERING_MODULES
from lms.core.db import Base

import importlib

for _module in REGISTERING_MODULES:
    importlib.import_module(_module)

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = create_engine(config.get_main_option("sqlalchemy.url"),
                                    poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    # Batch mode lets the same revisions alter tables on SQLite.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
