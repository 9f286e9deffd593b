"""Who may do what to accounts and institutions."""

from __future__ import annotations

from lms.users.models import Institution, Role, User


def assignable_roles(actor: User) -> list[Role]:
    """Roles ``actor`` may give to accounts they create or edit."""
    if actor.role == Role.REGIONAL_ADMIN:
        return list(Role)
    if actor.role == Role.INSTITUTION_ADMIN:
        return [Role.INSTRUCTOR]
    return []


def can_manage_user(actor: User, target: User) -> bool:
    """Regional admins manage everyone; institution admins their own instructors."""
    if actor.role == Role.REGIONAL_ADMIN:
        return True
    return (actor.role == Role.INSTITUTION_ADMIN
            and target.role == Role.INSTRUCTOR
            and target.institution_id is not None
            and target.institution_id == actor.institution_id)


def can_edit_institution(actor: User, institution: Institution | None = None) -> bool:
    """Only regional admins change the institution catalogue."""
    return actor.role == Role.REGIONAL_ADMIN
