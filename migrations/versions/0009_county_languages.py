"""an institution's county in Tibetan, Chinese and English

The county was one free-text field, so a Tibetan page showed the Chinese name
(ལྷ་ས། · 城关区). It now has a field per content language, like the name.
An existing county goes to the language its script shows: Tibetan letters to
county_bo, Chinese characters to county_zh, anything else to county_en; going
back keeps the first filled in of Chinese, Tibetan, English.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 14:40:00
"""

import re

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LANGS = ('bo', 'zh', 'en')
institutions = sa.table(
    'institutions', sa.column('id', sa.Integer), sa.column('county', sa.String),
    *(sa.column(f'county_{lang}', sa.String) for lang in LANGS),
)


def _language(text: str) -> str:
    if re.search(r'[\u0f00-\u0fff]', text):
        return 'bo'
    if re.search(r'[\u3400-\u9fff]', text):
        return 'zh'
    return 'en'


def upgrade():
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        for lang in LANGS:
            batch_op.add_column(sa.Column(f'county_{lang}', sa.String(length=100), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(institutions.c.id, institutions.c.county)
                        .where(institutions.c.county.is_not(None))).all()
    for ident, county in rows:
        conn.execute(institutions.update().where(institutions.c.id == ident)
                     .values({f'county_{_language(county)}': county}))
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('county')


def downgrade():
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('county', sa.String(length=100), nullable=True))
    conn = op.get_bind()
    conn.execute(institutions.update().values(county=sa.func.coalesce(
        institutions.c.county_zh, institutions.c.county_bo, institutions.c.county_en)))
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        for lang in LANGS:
            batch_op.drop_column(f'county_{lang}')
