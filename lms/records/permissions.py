"""Who may read a record, enter or correct training, see certificates and export.

A record belongs to its learner. Regional admins see every record;
institution admins the records of the learners their institution trains
(enrolled in one of its courses, or credited by it), and they enter,
correct and export only their own institution's training.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select, union

from lms.courses.models import Course, Enrolment
from lms.extensions import db
from lms.records.models import Certificate, Export, LedgerEntry
from lms.users.models import Institution, Role, User


def institution_learner_ids(institution_id: int) -> Any:
    """A select of the ids of the learners an institution trains (enrolled or credited)."""
    return union(
        select(Enrolment.user_id).join(Course, Course.id == Enrolment.course_id)
        .where(Course.institution_id == institution_id),
        select(LedgerEntry.learner_id).where(LedgerEntry.institution_id == institution_id),
    )


def trains(institution_id: int, learner_id: int) -> bool:
    """Whether the institution trains (or trained) this learner."""
    enrolled = exists().where(Enrolment.user_id == learner_id,
                              Enrolment.course_id == Course.id,
                              Course.institution_id == institution_id)
    credited = exists().where(LedgerEntry.learner_id == learner_id,
                              LedgerEntry.institution_id == institution_id)
    return bool(db.session.scalar(select(enrolled | credited)))


def is_regional(actor: User) -> bool:
    return actor.is_authenticated and actor.role == Role.REGIONAL_ADMIN


def is_institution_admin(actor: User) -> bool:
    return (actor.is_authenticated and actor.role == Role.INSTITUTION_ADMIN
            and actor.institution_id is not None)


def can_view_record(actor: User, learner: User) -> bool:
    """The learner themselves, and administrators whose scope includes them."""
    if not actor.is_authenticated or learner.role != Role.LEARNER:
        return False
    if actor.id == learner.id or is_regional(actor):
        return True
    return is_institution_admin(actor) and trains(actor.institution_id, learner.id)


def can_enter_offline(actor: User, learner: User, institution: Institution | None) -> bool:
    """Regional admins for any institution; institution admins for their own only."""
    if learner.role != Role.LEARNER:
        return False
    if is_regional(actor):
        return True
    return (is_institution_admin(actor) and institution is not None
            and institution.id == actor.institution_id
            and trains(actor.institution_id, learner.id))


def can_correct(actor: User, entry: LedgerEntry) -> bool:
    """Regional admins correct any entry; institution admins their institution's entries."""
    if is_regional(actor):
        return True
    return is_institution_admin(actor) and entry.institution_id == actor.institution_id


def can_view_certificate(actor: User, certificate: Certificate) -> bool:
    """The holder, regional admins, and the admins of the issuing institution."""
    if not actor.is_authenticated:
        return False
    if actor.id == certificate.learner_id or is_regional(actor):
        return True
    return is_institution_admin(actor) and certificate.institution_id == actor.institution_id


def can_revoke(actor: User, certificate: Certificate) -> bool:
    """Regional admins, and the admins of the issuing institution."""
    return is_regional(actor) or (is_institution_admin(actor)
                                  and certificate.institution_id == actor.institution_id)


def export_institution(actor: User, requested: int | None) -> int | None:
    """The institution an export is limited to (None: all, for regional admins only).

    Raises PermissionError when an institution admin asks for another institution.
    """
    if is_regional(actor):
        return requested
    if not is_institution_admin(actor):
        raise PermissionError("only administrators export records")
    if requested not in (None, actor.institution_id):
        raise PermissionError("institution admins export their own institution only")
    return actor.institution_id


def can_include_full_ids(actor: User | None) -> bool:
    """Full ID numbers leave the system only when a regional admin asks (or the command line)."""
    return actor is None or is_regional(actor)


def can_download_export(actor: User, export: Export) -> bool:
    """Only the administrator who asked for an export may download it."""
    return actor.is_authenticated and actor.id == export.requested_by_id
