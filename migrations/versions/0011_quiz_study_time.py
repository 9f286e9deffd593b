"""quiz attempts: study time measured from one sign of work to the next

An untimed attempt used to earn all the time it stood open (a quiz opened on
Monday and handed in on Friday earned four days). An attempt now keeps the
time of the learner's last sign of work and the study time verified so far.
Attempts already handed in keep what they were credited when the limit bound
them (a timed quiz); an untimed one keeps at most one capped gap (600 s), the
least the new measure would have given it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 04:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

GAP_CAP_SECONDS = 600
attempts = sa.table(
    'quiz_attempts', sa.column('id', sa.Integer), sa.column('started_at', sa.DateTime),
    sa.column('deadline_at', sa.DateTime), sa.column('submitted_at', sa.DateTime),
    sa.column('active_at', sa.DateTime), sa.column('studied_s', sa.Integer),
)


def upgrade():
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('studied_s', sa.Integer(), server_default='0',
                                      nullable=False))
    conn = op.get_bind()
    rows = conn.execute(sa.select(attempts.c.id, attempts.c.started_at, attempts.c.deadline_at,
                                  attempts.c.submitted_at)).all()
    for ident, started, deadline, submitted in rows:
        end = submitted or started
        if deadline is not None:
            seconds = (min(end, deadline) - started).total_seconds()
        else:
            seconds = min((end - started).total_seconds(), GAP_CAP_SECONDS)
        conn.execute(attempts.update().where(attempts.c.id == ident).values(
            active_at=end, studied_s=max(0, int(seconds)) if submitted else 0))


def downgrade():
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_column('studied_s')
        batch_op.drop_column('active_at')
