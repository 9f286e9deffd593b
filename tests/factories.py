"""Factories for test data: real names in Tibetan and Chinese, unique contacts.

Each factory commits (inside the test's outer transaction), so a controller
that rolls back its own failed unit of work does not take the test's data with it.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from lms.users import operations as user_ops
from lms.users.models import Institution, InstitutionKind, Role, User

_seq = itertools.count(1)

PASSWORD = "correct-horse-42"


class Factories:
    """``make.user(...)``, ``make.institution(...)`` and friends for one test session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def institution(self, **kw: Any) -> Institution:
        n = next(_seq)
        fields = dict(code=f"INST-{n}", name_bo=f"སྦྱོང་བརྡར་སྒྲིག་འཛུགས་ {n}",
                      name_zh=f"培训机构{n}", name_en=f"Institution {n}",
                      kind=InstitutionKind.PUBLIC_TRAINING_BASE, prefecture="540100",
                      subsidy_approved=True)
        fields.update(kw)
        institution = Institution(**fields)
        self.session.add(institution)
        self.session.commit()
        return institution

    def user(self, role: Role | str = Role.LEARNER, *, institution: Institution | None = None,
             password: str = PASSWORD, **kw: Any) -> User:
        role = Role(role)
        if institution is None and role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN):
            institution = self.institution()
        n = next(_seq)
        fields = dict(real_name=kw.pop("real_name", f"བཀྲ་ཤིས་ {n}"),
                      contact=kw.pop("contact", f"user{n}@yonten.example"),
                      password=password, locale=kw.pop("locale", "bo"), role=role,
                      institution=institution)
        fields.update(kw)
        user = user_ops.create_user(**fields)
        self.session.commit()
        return user

    def learner(self, **kw: Any) -> User:
        return self.user(Role.LEARNER, **kw)

    def instructor(self, **kw: Any) -> User:
        return self.user(Role.INSTRUCTOR, **kw)

    def institution_admin(self, **kw: Any) -> User:
        return self.user(Role.INSTITUTION_ADMIN, **kw)

    def regional_admin(self, **kw: Any) -> User:
        return self.user(Role.REGIONAL_ADMIN, **kw)
