"""The ``lms`` command: serve, worker, db, demo, config, jobs, and each domain's group."""

from __future__ import annotations

import importlib
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from lms.config import PROJECT_ROOT, ConfigError, settings_markdown

#: Domains that add a command group of their own (``lms users ...``).
DOMAIN_COMMANDS = (
    "lms.users.cli",
    "lms.courses.cli",
    "lms.assessment.cli",
    "lms.records.cli",
    "lms.video.cli",
    "lms.search.cli",
)


def _create_app():
    from lms import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Yonten: lifelong vocational-skills training."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=int, default=None, help="Job worker threads (default LMS_WORKERS).")
@with_appcontext
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the web app and run its job worker in the same process."""
    from werkzeug.serving import run_simple

    from lms.core.queue import make_consumer

    app = current_app._get_current_object()
    consumer = make_consumer(app, workers=workers or app.config["WORKERS"], embedded=True)
    consumer.start()
    click.echo(f"Yonten is serving on http://{host}:{port}/ with "
               f"{consumer.workers} job worker thread(s). Press Ctrl+C to stop.")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        consumer.stop(graceful=False)


@main.command()
@click.option("--workers", type=int, default=None, help="Worker threads (default LMS_WORKERS).")
@with_appcontext
def worker(workers: int | None) -> None:
    """Run job workers only (scale out: one per machine, all on the same Redis)."""
    from lms.core.queue import make_consumer

    app = current_app._get_current_object()
    if not app.config["REDIS_URL"]:
        click.echo("Note: LMS_REDIS_URL is not set; this worker shares the SQLite queue in "
                   f"{app.instance_path} and only helps on this machine.", err=True)
    make_consumer(app, workers=workers or app.config["WORKERS"]).run()


README_MARKERS = ("<!-- settings:begin -->", "<!-- settings:end -->")


@main.command("config")
@click.option("--update-readme", is_flag=True, help="Rewrite the settings table in README.md.")
def show_config(update_readme: bool) -> None:
    """Print every setting with its default and meaning (Markdown)."""
    table = settings_markdown()
    if not update_readme:
        click.echo(table)
        return
    readme = PROJECT_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    begin, end = README_MARKERS
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    readme.write_text(f"{head}{begin}\n{table}\n{end}{tail}", encoding="utf-8")
    click.echo("README.md settings table updated.")


# --- database ----------------------------------------------------------------

def alembic_config(url: str):
    """Alembic configuration pointing at ``migrations/`` and the given database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Bring the database to the latest schema (or to REVISION)."""
    from alembic import command

    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database is at {revision}.")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision the database is at."""
    from alembic import command

    command.current(alembic_config(current_app.config["DATABASE_URL"]))


@db.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Write a new migration from the difference between models and database."""
    from alembic import command

    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message,
                     autogenerate=True)


# --- jobs ----------------------------------------------------------------------

@main.group()
def jobs() -> None:
    """Background jobs."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def jobs_list(limit: int) -> None:
    """Show the newest jobs and their state."""
    from sqlalchemy import select

    from lms.core.jobs import Job
    from lms.extensions import db as database

    for row in database.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        click.echo(f"{row.id:>6}  {row.name:<28} {row.state:<10} {row.percent:>3}%  "
                   f"attempts {row.attempts}/{row.max_attempts}  {row.error or ''}"[:160])


@jobs.command("sweep")
@with_appcontext
def jobs_sweep() -> None:
    """Re-enqueue jobs whose worker died or whose message was lost."""
    from lms.core.jobs import sweep

    click.echo(f"Re-enqueued {sweep()} job(s).")


@jobs.command("run")
@with_appcontext
def jobs_run() -> None:
    """Run every queued job now, in this process."""
    from lms.core.jobs import run_queued_jobs

    click.echo(f"Ran {run_queued_jobs(limit=10_000)} job(s).")


# --- demo ------------------------------------------------------------------------

#: Demo loaders, in order; each is idempotent and returns lines to print.
DEMO_LOADERS = (
    "lms.users.cli:load_demo",
    "lms.courses.cli:load_demo",
    "lms.assessment.cli:load_demo",
    "lms.records.cli:load_demo",
    "lms.video.cli:load_demo",
    "lms.search.cli:load_demo",
)


@main.command()
@with_appcontext
def demo() -> None:
    """Load demo institutions, accounts and courses (safe to run again)."""
    from lms.core.jobs import run_queued_jobs
    from lms.extensions import db as database

    lines: list[str] = []
    for spec in DEMO_LOADERS:
        module, _, func = spec.partition(":")
        lines.extend(getattr(importlib.import_module(module), func)() or [])
        database.session.commit()
    # Jobs the demo queued (transcoding, indexing) run here, so the demo is ready at once.
    run_queued_jobs(limit=1000)
    click.echo("\n".join(lines))


for _spec in DOMAIN_COMMANDS:
    main.add_command(importlib.import_module(_spec).cli)


if __name__ == "__main__":
    main()
