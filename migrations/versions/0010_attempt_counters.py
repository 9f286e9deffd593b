"""attempt counters: ration answers that reveal who has an account

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 00:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attempt_counters',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('window_start', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_attempt_counters')),
    )


def downgrade():
    op.drop_table('attempt_counters')
