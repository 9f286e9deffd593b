"""Target groups: the policy's key groups (重点群体) a learner belongs to.

The tags are sensitive (disability, poverty, custody ...): only administrators
read or change them, each change goes to the audit log, and they never appear
in search, in logs or in URLs (forms post them in the body). Institution
admins tag the learners their institution trains; which learners those are
is known to the domains that hold enrolments and records, which register a
provider with ``set_institution_learners``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Select, delete, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import Forbidden

from lms.core.audit import audit
from lms.core.db import Base, enum_column, utcnow
from lms.extensions import db
from lms.users.models import Role, User


class TargetGroup(StrEnum):
    """The key groups of the regional policy (三(五)), in its order."""

    COLLEGE_GRADUATE = "college_graduate"
    MIGRANT_WORKER = "migrant_worker"
    STRUGGLING_ENTERPRISE_WORKER = "struggling_enterprise_worker"
    UNEMPLOYED = "unemployed"
    SCHOOL_LEAVER = "school_leaver"
    DEMOBILISED_SOLDIER = "demobilised_soldier"
    MILITARY_FAMILY = "military_family"
    POOR_HOUSEHOLD = "poor_household"
    DISABILITY = "disability"
    SERVING_SENTENCE = "serving_sentence"
    RELEASED_PRISONER = "released_prisoner"

    @property
    def label(self) -> str:
        return str(TARGET_GROUP_LABELS[self])


TARGET_GROUP_LABELS = {
    TargetGroup.COLLEGE_GRADUATE: _l("College graduates"),
    TargetGroup.MIGRANT_WORKER: _l("Rural and herder migrant workers"),
    TargetGroup.STRUGGLING_ENTERPRISE_WORKER: _l(
        "Workers of struggling enterprises and laid-off workers"),
    TargetGroup.UNEMPLOYED: _l("Unemployed people"),
    TargetGroup.SCHOOL_LEAVER: _l("School leavers not going on to further study"),
    TargetGroup.DEMOBILISED_SOLDIER: _l("Demobilised soldiers"),
    TargetGroup.MILITARY_FAMILY: _l("Soldiers' accompanying family members"),
    TargetGroup.POOR_HOUSEHOLD: _l("Registered poor households"),
    TargetGroup.DISABILITY: _l("People with disabilities"),
    TargetGroup.SERVING_SENTENCE: _l("People serving sentences"),
    TargetGroup.RELEASED_PRISONER: _l("People released after serving sentences"),
}


class LearnerTargetGroup(Base):
    """One learner in one key group, and who tagged them when."""

    __tablename__ = "learner_target_groups"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group: Mapped[TargetGroup] = mapped_column(enum_column(TargetGroup), primary_key=True,
                                               index=True)
    tagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    tagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# --- which learners an institution admin may tag -----------------------------------

#: ``provider(institution_id)`` -> a select of the ids of the learners that institution trains.
InstitutionLearners = Callable[[int], Select]
_providers: list[InstitutionLearners] = []


def set_institution_learners(provider: InstitutionLearners) -> None:
    """Let the domain that knows enrolments say which learners an institution trains."""
    _providers[:] = [provider]


def institution_learner_ids(institution_id: int) -> Select | None:
    """A select of the learners ``institution_id`` trains, or None if nobody can say."""
    return _providers[0](institution_id) if _providers else None


def can_tag(actor: User, learner: User) -> bool:
    """Regional admins tag any learner; institution admins the learners their institution trains."""
    if learner.role != Role.LEARNER or not actor.is_authenticated:
        return False
    if actor.role == Role.REGIONAL_ADMIN:
        return True
    if actor.role != Role.INSTITUTION_ADMIN or actor.institution_id is None:
        return False
    ids = institution_learner_ids(actor.institution_id)
    return ids is not None and learner.id in set(db.session.scalars(ids))


# --- reading and changing -------------------------------------------------------------

def groups_of(learner: User) -> set[TargetGroup]:
    """The key groups a learner is tagged with."""
    return set(db.session.scalars(select(LearnerTargetGroup.group)
                                  .where(LearnerTargetGroup.user_id == learner.id)))


def set_target_groups(actor: User, learner: User, groups: Iterable[TargetGroup | str]
                      ) -> tuple[set[TargetGroup], set[TargetGroup]]:
    """Tag ``learner`` with exactly ``groups``; audit the change; return (added, removed)."""
    if not can_tag(actor, learner):
        raise Forbidden()
    wanted = {TargetGroup(g) for g in groups}
    current = groups_of(learner)
    added, removed = wanted - current, current - wanted
    if removed:
        db.session.execute(delete(LearnerTargetGroup).where(
            LearnerTargetGroup.user_id == learner.id, LearnerTargetGroup.group.in_(removed)))
    for group in sorted(added):
        db.session.add(LearnerTargetGroup(user_id=learner.id, group=group,
                                          tagged_by_id=actor.id))
    if added or removed:
        audit(actor, "target_groups.changed", learner,
              {"added": sorted(added), "removed": sorted(removed)})
    db.session.flush()
    return added, removed
