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


def with_todays_columns(url: str) -> None:
    """Give an old database the columns later migrations add to the tables today's factories
    fill (0009: an institution's county per language; 0013: an enrolment's progress
    version); the tests here touch no other."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        for lang in ("bo", "zh", "en"):
            conn.execute(text(f"ALTER TABLE institutions ADD COLUMN county_{lang} VARCHAR(100)"))
        conn.execute(text("ALTER TABLE enrolments ADD COLUMN progress_version INTEGER"
                          " NOT NULL DEFAULT 0"))
    engine.dispose()


def app_at_0007(base_config, tmp_path):
    """An app on a new database migrated to 0007, and the migrations' config, to go on."""
    from alembic import command

    from lms import create_app
    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'at-0007.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0007")
    with_todays_columns(url)
    return config, create_app({**base_config, "DATABASE_URL": url,
                               "SEARCH_INDEX_PATH": str(tmp_path / "search")})


def test_watch_records_move_to_the_lessons_they_were_watched_in_and_back(base_config, tmp_path):
    """0008 gives a learner's record of a video to the lessons their progress shows they
    watched it in (else to the first lesson playing it), so no watched second is lost and
    one viewing opens no new lesson; each learner's clock starts from their latest report."""
    import json

    from alembic import command
    from sqlalchemy import text

    from lms.courses import operations as course_ops
    from lms.extensions import db
    from tests.factories import Factories

    config, app = app_at_0007(base_config, tmp_path)
    with app.app_context():
        db.session.remove()
        # The shape of 0007 is enough for these factories: they make no watch rows.
        make = Factories(db.session)
        video = make.video(duration=100.0)
        first_course, first = make.video_course(video=video)
        second_course, second = make.video_course(video=video)
        both, neither = make.learner(), make.learner()
        for learner in (both, neither):
            for course in (first_course, second_course):
                make.enrolment(learner, course)
        for lesson, course in ((first, first_course), (second, second_course)):
            course_ops.progress_for(course_ops.find_enrolment(both, course),
                                    lesson).verified_seconds = 42
        db.session.commit()
        for learner, reported in ((both, 1700000000.0), (neither, 1700000100.0)):
            db.session.execute(text(
                "INSERT INTO video_watch_records (user_id, video_id, state, watched_s,"
                " position_s, updated_at) VALUES (:user, :video, :state, 42.0, 42.0,"
                " CURRENT_TIMESTAMP)"),
                {"user": learner.id, "video": video.id,
                 "state": json.dumps({"intervals": [[0.0, 42.0]], "last_report_at": reported,
                                      "carry_s": 3.0})})
        db.session.commit()
        ids = {"both": both.id, "neither": neither.id}
        db.session.remove()

        command.upgrade(config, "0008")
        rows = db.session.execute(text(
            "SELECT user_id, lesson_id, watched_s, state FROM video_watch_records"
            " ORDER BY user_id, lesson_id")).all()
        assert [(r.user_id, r.lesson_id, r.watched_s) for r in rows] == [
            (ids["both"], first.id, 42.0), (ids["both"], second.id, 42.0),
            (ids["neither"], first.id, 42.0)]
        assert all('"intervals"' in r.state and "last_report_at" not in r.state for r in rows)
        clocks = db.session.execute(text(
            "SELECT user_id, last_report_at FROM study_clocks ORDER BY user_id")).all()
        assert [tuple(c) for c in clocks] == [(ids["both"], 1700000000.0),
                                              (ids["neither"], 1700000100.0)]
        db.session.remove()

        command.downgrade(config, "0007")
        assert db.session.execute(text(
            "SELECT count(*) FROM video_watch_records")).scalar() == 2
        db.session.remove()


def test_a_learners_study_clock_starts_from_their_latest_reading_report(base_config, tmp_path):
    """Reading reports anchor the clock as watch reports do, so 0008 starts it from the
    latest of either."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    from lms.courses import operations as course_ops
    from lms.extensions import db
    from tests.factories import Factories

    config, app = app_at_0007(base_config, tmp_path)
    with app.app_context():
        db.session.remove()
        make = Factories(db.session)
        course, reader = make.course(lessons=2), make.learner()
        enrolment = make.enrolment(reader, course)
        for lesson, at in zip(course.sections[0].lessons, (1700000300, 1700000200),
                              strict=True):
            course_ops.progress_for(enrolment, lesson).viewed_at = datetime.fromtimestamp(
                at, UTC)
        db.session.commit()
        reader_id = reader.id
        db.session.remove()

        command.upgrade(config, "0008")
        clock = db.session.execute(text("SELECT user_id, last_report_at FROM study_clocks")).one()
        assert tuple(clock) == (reader_id, 1700000300.0)
        db.session.remove()


def test_a_county_moves_to_the_language_its_script_shows_and_back(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'county.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0008")
    engine = create_engine(url)
    counties = {"T-1": "ཁྲིན་ཀོན་ཆུས།", "T-2": "城关区", "T-3": "Nyemo County", "T-4": None}
    with engine.begin() as conn:
        for code, county in counties.items():
            conn.execute(text(
                "INSERT INTO institutions (code, kind, prefecture, county, subsidy_approved, "
                "is_active, created_at, updated_at) VALUES (:code, 'enterprise', '540100', "
                ":county, 0, 1, '2026-01-01', '2026-01-01')"), {"code": code, "county": county})
    command.upgrade(config, "0009")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, county_bo, county_zh, county_en FROM institutions "
                                 "ORDER BY code")).all()
    assert [tuple(r) for r in rows] == [
        ("T-1", "ཁྲིན་ཀོན་ཆུས།", None, None), ("T-2", None, "城关区", None),
        ("T-3", None, None, "Nyemo County"), ("T-4", None, None, None)]
    command.downgrade(config, "0008")
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT code, county FROM institutions")).all())
    assert back == counties
    engine.dispose()


def test_attempts_handed_in_keep_their_time_as_the_limit_bound_it(tmp_path):
    """0011: a timed attempt keeps what it earned up to its deadline; an untimed one at most
    one capped gap, instead of all the days it stood open; an open one starts from zero."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'attempts.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0010")
    engine = create_engine(url)  # no foreign keys enforced: the attempts need no quiz here
    attempts = {  # number: (started, deadline, submitted)
        1: ("2026-03-01 10:00:00", "2026-03-01 10:20:00", "2026-03-01 10:12:30"),
        2: ("2026-03-01 10:00:00", "2026-03-01 10:20:00", "2026-03-01 10:20:25"),
        3: ("2026-03-01 10:00:00", None, "2026-03-05 09:00:00"),
        4: ("2026-03-01 10:00:00", None, "2026-03-01 10:04:00"),
        5: ("2026-03-01 10:00:00", None, None),
    }
    with engine.begin() as conn:
        for number, (started, deadline, submitted) in attempts.items():
            conn.execute(text(
                "INSERT INTO quiz_attempts (quiz_id, user_id, enrolment_id, number, state, "
                "started_at, deadline_at, submitted_at) VALUES (1, 1, 1, :number, :state, "
                ":started, :deadline, :submitted)"),
                {"number": number, "state": "finished" if submitted else "in_progress",
                 "started": started, "deadline": deadline, "submitted": submitted})
    command.upgrade(config, "0011")
    with engine.connect() as conn:
        studied = dict(conn.execute(text("SELECT number, studied_s FROM quiz_attempts")).all())
    assert studied == {1: 750, 2: 1200, 3: 600, 4: 240, 5: 0}
    command.downgrade(config, "0010")
    engine.dispose()


def test_phones_and_occupation_codes_typed_in_other_digits_become_ascii(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'digits.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0011")
    engine = create_engine(url)
    phones = {1: "༡༣༨༠༠༡༣༨༠༠༠", 2: "13900139000", 3: "１３９００１３９０００", 4: None}
    with engine.begin() as conn:
        for ident, phone in phones.items():
            conn.execute(text(
                "INSERT INTO users (id, real_name, phone, password_hash, role, locale, "
                "is_active, session_version, failed_logins, created_at, updated_at) VALUES "
                "(:id, 'x', :phone, 'x', 'learner', 'bo', 1, 1, 0, '2026-01-01', '2026-01-01')"),
                {"id": ident, "phone": phone})
        conn.execute(text(
            "INSERT INTO courses (id, code, institution_id, occupation_code, skill_level, "
            "training_type, nominal_hours, subsidised, sequential, status, created_at, "
            "updated_at) VALUES (1, 'C-1', 1, '༦-༠༡-༠༢-༠༡', 'level5', 'employment', 8, 0, 0, "
            "'published', '2026-01-01', '2026-01-01')"))
    command.upgrade(config, "0012")
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, phone FROM users")).all())
        code = conn.execute(text("SELECT occupation_code FROM courses")).scalar()
    # The third is the second's number: left for an administrator, not merged.
    assert stored == {1: "13800138000", 2: "13900139000", 3: "１３９００１３９０００", 4: None}
    assert code == "6-01-02-01"
    command.downgrade(config, "0011")
    engine.dispose()
