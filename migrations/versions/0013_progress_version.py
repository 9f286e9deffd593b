"""enrolments: a version of the learner's progress in the course

Moves on whenever the learner's progress in any lesson of the course changes (a
reading report, a completion, a file opened), in the same transaction, so a
kept lesson page can tell with one column whether the progress it shows is
still the learner's. Existing enrolments start at 0: no page is kept across a
restart.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_version', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('progress_version')
