"""phone numbers and occupation codes in ASCII digits

Phone numbers and occupation codes typed in Tibetan (༡༣༨…) or full-width
(１３８…) digits were stored as typed, so the same phone could hold two
accounts and could not log in when typed the other way, and the catalogue's
occupation filter missed such codes. Both are now read in ASCII digits; this
rewrites the ones stored before. A phone whose ASCII form another account
already holds is left as it was (the two accounts are for an administrator
to sort out). Going back changes nothing: ASCII digits were always valid.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 04:40:00
"""

import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('phone', sa.String))
courses = sa.table('courses', sa.column('id', sa.Integer),
                   sa.column('occupation_code', sa.String))


def _ascii(text):
    text = unicodedata.normalize('NFKC', text)
    return ''.join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def upgrade():
    conn = op.get_bind()
    phones = conn.execute(sa.select(users.c.id, users.c.phone)
                          .where(users.c.phone.is_not(None))).all()
    taken = {phone for _, phone in phones}
    for ident, phone in phones:
        plain = _ascii(phone)
        if plain != phone and plain not in taken:
            conn.execute(users.update().where(users.c.id == ident).values(phone=plain))
            taken.add(plain)
    for ident, code in conn.execute(sa.select(courses.c.id, courses.c.occupation_code)).all():
        if code and _ascii(code) != code:
            conn.execute(courses.update().where(courses.c.id == ident)
                         .values(occupation_code=_ascii(code)))


def downgrade():
    pass
