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


def test_watch_records_move_to_the_lessons_that_play_their_video_and_back(
        base_config, tmp_path):
    """0008 gives a learner's record of a video to each lesson playing it in their courses
    (no watched second is lost), and starts their clock from their latest report."""
    from alembic import command
    from sqlalchemy import text

    from lms import create_app
    from lms.cli import alembic_config
    from lms.extensions import db
    from tests.factories import Factories

    url = f"sqlite:///{tmp_path / 'watch.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0007")
    app = create_app({**base_config, "DATABASE_URL": url,
                      "SEARCH_INDEX_PATH": str(tmp_path / "search")})
    with app.app_context():
        db.session.remove()
        # The shape of 0007 is enough for these factories: no watch rows are made by them.
        make = Factories(db.session)
        video = make.video(duration=100.0)
        first_course, first = make.video_course(video=video)
        second_course, second = make.video_course(video=video)
        learner = make.learner()
        make.enrolment(learner, first_course)
        make.enrolment(learner, second_course)
        ids = {"user": learner.id, "video": video.id}
        db.session.commit()
        db.session.execute(text(
            "INSERT INTO video_watch_records (user_id, video_id, state, watched_s, position_s,"
            " updated_at) VALUES (:user, :video, :state, 42.0, 42.0, CURRENT_TIMESTAMP)"),
            {**ids, "state": '{"intervals": [[0.0, 42.0]], "last_report_at": 1700000000.0,'
                             ' "carry_s": 3.0}'})
        db.session.commit()
        db.session.remove()

        command.upgrade(config, "0008")
        rows = db.session.execute(text(
            "SELECT lesson_id, watched_s, state FROM video_watch_records ORDER BY lesson_id"
        )).all()
        assert [(r.lesson_id, r.watched_s) for r in rows] == [(first.id, 42.0), (second.id, 42.0)]
        assert all('"intervals"' in r.state and "last_report_at" not in r.state for r in rows)
        clock = db.session.execute(text("SELECT * FROM video_watch_clocks")).one()
        assert (clock.user_id, clock.last_report_at) == (learner.id, 1700000000.0)
        db.session.remove()

        command.downgrade(config, "0007")
        assert db.session.execute(text(
            "SELECT count(*) FROM video_watch_records")).scalar() == 1
        db.session.remove()
