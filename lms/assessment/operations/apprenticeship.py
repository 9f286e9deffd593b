"""Apprenticeship (以师带徒): pairing an apprentice with a master in an apprenticeship course."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from lms.assessment.models import Pairing
from lms.assessment.permissions import can_pair
from lms.core.errors import UserError
from lms.courses.models import Course, EnrolmentStatus
from lms.courses.operations import find_enrolment
from lms.extensions import db
from lms.users.models import Role, User


def current_pairing(course: Course, apprentice: User) -> Pairing | None:
    """The apprentice's pairing in force in a course."""
    return db.session.scalar(select(Pairing).where(
        Pairing.course_id == course.id, Pairing.apprentice_id == apprentice.id,
        Pairing.ended_at.is_(None)))


def pair(actor: User, course: Course, apprentice: User, master: User, *,
         now: datetime) -> Pairing:
    """Give an enrolled apprentice a master (an instructor of the course's institution).

    A new master takes over from the previous one, whose pairing ends now; the
    history of who reviewed what stays.
    """
    if not can_pair(actor, course):
        raise Forbidden()
    enrolment = find_enrolment(apprentice, course)
    if enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise UserError(_l("The apprentice must be enrolled in the course."), "apprentice")
    if master.role != Role.INSTRUCTOR or master.institution_id != course.institution_id:
        raise UserError(_l("The master must be an instructor of this course's institution."),
                        "master")
    if master.id == apprentice.id:
        raise UserError(_l("An apprentice cannot be their own master."), "master")
    current = current_pairing(course, apprentice)
    if current is not None and current.master_id == master.id:
        return current
    if current is not None:
        current.ended_at = now
    pairing = Pairing(course_id=course.id, apprentice_id=apprentice.id, master_id=master.id,
                      created_by_id=actor.id, started_at=now)
    db.session.add(pairing)
    db.session.flush()
    return pairing


def end_pairing(actor: User, pairing: Pairing, *, now: datetime) -> None:
    """End a pairing (the apprentice finished, or the master left)."""
    if not can_pair(actor, pairing.course):
        raise Forbidden()
    if pairing.ended_at is None:
        pairing.ended_at = now
        db.session.flush()
