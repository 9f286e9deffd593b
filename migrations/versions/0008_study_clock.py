"""watch records per lesson, and one study clock per learner

Hours are credited per lesson, so a video reused in two lessons is watched for
each; and a learner earns wall-clock time once, whatever plays or is read in
their tabs (reading and watching share the clock).
An existing record goes to the lessons that play its video where the learner's
progress shows they watched (one viewing credited in several lessons stays as it
was credited, and never opens a lesson it was not watched in), else to the first
lesson playing it in a course they enrolled in; each learner's clock starts from
their latest report, of watching or of reading.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:40:00
"""

from alembic import op
import sqlalchemy as sa

import lms.core.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

records = sa.table(
    'video_watch_records',
    sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
    sa.column('lesson_id', sa.Integer), sa.column('video_id', sa.Integer),
    sa.column('state', sa.JSON), sa.column('watched_s', sa.Double),
    sa.column('position_s', sa.Double), sa.column('updated_at', sa.DateTime),
)
progress = sa.table(
    'lesson_progress',
    sa.column('enrolment_id', sa.Integer), sa.column('viewed_at', lms.core.db.UTCDateTime()),
)
enrolments = sa.table('enrolments', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer))
clocks = sa.table(
    'study_clocks',
    sa.column('user_id', sa.Integer), sa.column('last_report_at', sa.Double),
    sa.column('carry_s', sa.Double),
)


def _give_records_to_lessons(conn) -> None:
    playing, watched = {}, {}
    for video_id, user_id, lesson_id, seen in conn.execute(sa.text(
            "SELECT vl.video_id, e.user_id, vl.lesson_id, "
            "  lp.verified_seconds > 0 OR lp.completed_at IS NOT NULL "
            "FROM video_lessons vl "
            "JOIN lessons l ON l.id = vl.lesson_id "
            "JOIN enrolments e ON e.course_id = l.course_id "
            "LEFT JOIN lesson_progress lp ON lp.enrolment_id = e.id "
            "  AND lp.lesson_id = vl.lesson_id "
            "ORDER BY vl.lesson_id")):
        playing.setdefault((user_id, video_id), []).append(lesson_id)
        if seen:
            watched.setdefault((user_id, video_id), []).append(lesson_id)
    lessons_of = {key: watched.get(key) or lessons[:1] for key, lessons in playing.items()}
    latest = {}
    for row in conn.execute(sa.select(records)).mappings().all():
        state = row['state'] or {}
        reported = state.get('last_report_at')
        if isinstance(reported, int | float):
            latest[row['user_id']] = max(latest.get(row['user_id'], reported), reported)
        kept = {'intervals': state.get('intervals', [])}
        lessons = lessons_of.get((row['user_id'], row['video_id']), [])
        if not lessons:  # its video plays in no lesson of a course the learner enrolled in
            conn.execute(records.delete().where(records.c.id == row['id']))
            continue
        conn.execute(records.update().where(records.c.id == row['id'])
                     .values(lesson_id=lessons[0], state=kept))
        for lesson_id in lessons[1:]:
            conn.execute(records.insert().values(
                user_id=row['user_id'], lesson_id=lesson_id, video_id=row['video_id'],
                state=kept, watched_s=row['watched_s'], position_s=row['position_s'],
                updated_at=row['updated_at']))
    # Reading reports count too: the clock is the latest report of any kind.
    for user_id, read_at in conn.execute(
            sa.select(enrolments.c.user_id, sa.func.max(progress.c.viewed_at))
            .join(enrolments, enrolments.c.id == progress.c.enrolment_id)
            .where(progress.c.viewed_at.is_not(None)).group_by(enrolments.c.user_id)):
        latest[user_id] = max(latest.get(user_id, read_at.timestamp()), read_at.timestamp())
    for user_id, reported in latest.items():
        conn.execute(clocks.insert().values(user_id=user_id, last_report_at=reported,
                                            carry_s=0.0))


def upgrade() -> None:
    op.create_table('study_clocks',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_report_at', sa.Double(), nullable=True),
    sa.Column('carry_s', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_study_clocks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_study_clocks'))
    )
    with op.batch_alter_table('video_watch_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lesson_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_video_watch_records_user_id_video_id'), type_='unique')

    _give_records_to_lessons(op.get_bind())

    with op.batch_alter_table('video_watch_records', schema=None) as batch_op:
        batch_op.alter_column('lesson_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_video_watch_records_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_video_watch_records_user_id_lesson_id_video_id'), ['user_id', 'lesson_id', 'video_id'])
        batch_op.create_foreign_key(batch_op.f('fk_video_watch_records_lesson_id_lessons'), 'lessons', ['lesson_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    conn = op.get_bind()
    # One record per learner and video again: the one that watched the most.
    kept = {}
    for row in conn.execute(sa.select(records.c.id, records.c.user_id, records.c.video_id,
                                      records.c.watched_s)).all():
        key = (row.user_id, row.video_id)
        if key not in kept or row.watched_s > kept[key][1]:
            kept[key] = (row.id, row.watched_s)
    keep_ids = {row_id for row_id, _ in kept.values()}
    for (row_id,) in conn.execute(sa.select(records.c.id)).all():
        if row_id not in keep_ids:
            conn.execute(records.delete().where(records.c.id == row_id))
    with op.batch_alter_table('video_watch_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_video_watch_records_lesson_id_lessons'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_video_watch_records_user_id_lesson_id_video_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_video_watch_records_lesson_id'))
        batch_op.drop_column('lesson_id')
        batch_op.create_unique_constraint(batch_op.f('uq_video_watch_records_user_id_video_id'), ['user_id', 'video_id'])
    op.drop_table('study_clocks')
