"""Factories for test data: real names in Tibetan and Chinese, unique contacts.

Each factory commits (inside the test's outer transaction), so a controller
that rolls back its own failed unit of work does not take the test's data with it.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from lms.courses import operations as course_ops
from lms.courses.models import Course, Enrolment, SkillLevel, TrainingType
from lms.users import operations as user_ops
from lms.users.models import Institution, InstitutionKind, Role, User

_seq = itertools.count(1)

PASSWORD = "correct-horse-42"


class Factories:
    """``make.user(...)``, ``make.institution(...)`` and friends for one test session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._author: User | None = None

    @property
    def author(self) -> User:
        """A regional administrator who builds the factory's courses."""
        if self._author is None:
            self._author = self.user(Role.REGIONAL_ADMIN)
        return self._author

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
                      password=password, locale=kw.pop("locale", "en"), role=role,
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

    # --- courses -----------------------------------------------------------------

    def course(self, *, institution: Institution | None = None, published: bool = True,
               lessons: int = 2, sections: int = 1, instructor: User | None = None,
               **kw: Any) -> Course:
        """A course with ``sections`` × ``lessons`` text lessons (1 h each, 0-minute reading)."""
        n = next(_seq)
        institution = institution or (instructor.institution if instructor else None) \
            or self.institution()
        admin = self.author
        values = dict(code=f"C-{n}", title_bo=f"ཐང་ཀ་འབྲི་རྒྱུ། {n}", title_zh=f"唐卡绘画 {n}",
                      title_en=f"Thangka painting {n}", summary_zh="学习唐卡。",
                      occupation_code="6-01-02-01", occupation_name_zh="唐卡画师",
                      skill_level=SkillLevel.LEVEL5, training_type=TrainingType.EMPLOYMENT,
                      nominal_hours=12, subsidised=True)
        values.update(kw)
        course = course_ops.save_course(admin, None, institution=institution, **values)
        if instructor is not None:
            course.instructors.append(instructor)
        for s in range(sections):
            section = course_ops.save_section(admin, course, None, title_en=f"Part {s + 1}",
                                              title_bo=f"ལེའུ་ {s + 1}")
            for i in range(lessons):
                course_ops.save_lesson(admin, section, None, kind="text",
                                       title_en=f"Lesson {s + 1}.{i + 1}",
                                       title_bo=f"སློབ་ཁྲིད་ {s + 1}.{i + 1}",
                                       body_en="Stretch the **canvas**.", credit_hours=1,
                                       min_reading_minutes=0, required=True, is_published=True)
        if published:
            course_ops.publish_course(admin, course)
        self.session.commit()
        return course

    def enrolment(self, learner: User, course: Course) -> Enrolment:
        enrolment = course_ops.enrol(learner, course)
        self.session.commit()
        return enrolment
