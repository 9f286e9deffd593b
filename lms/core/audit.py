"""The audit log, and the guard that keeps append-only tables append-only.

``audit(actor, action, target, details)`` adds one row to the log in the
caller's unit of work, so the record of an action commits (or rolls back)
with the action itself. Rows are never updated or deleted: ``append_only``
refuses it for a model in the data layer (a changed instance at flush, or a
bulk ``update()``/``delete()`` through the session), and on PostgreSQL the
migrations add triggers that refuse it in the database too. The same guard
protects the training-record ledger.

Files of personal data that people download one at a time (a learner's record,
a course's progress table, a gradebook) are logged with ``audit_download``, as
bulk exports are. Administrators read the log: regional admins all of it,
institution admins their own actions and those concerning their institution.
Nobody edits it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import ForeignKey, Select, String, event, inspect, or_, select
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column, relationship

from lms.core.db import Base, utcnow
from lms.extensions import db


class ImmutableRowError(RuntimeError):
    """Something tried to change or delete a row of an append-only table."""


#: Tables whose rows may be inserted, never updated or deleted.
APPEND_ONLY_TABLES: set[str] = set()


def _refuse_update(mapper: Mapper, _connection: Any, target: Any) -> None:
    state = inspect(target)
    if any(state.attrs[attr.key].history.has_changes() for attr in mapper.column_attrs):
        raise ImmutableRowError(f"{mapper.class_.__name__} rows are append-only; "
                                "record a correction instead of changing one")


def _refuse_delete(mapper: Mapper, _connection: Any, _target: Any) -> None:
    raise ImmutableRowError(f"{mapper.class_.__name__} rows are append-only and never deleted")


def append_only(cls: type) -> type:
    """Class decorator: refuse updates and deletes of this model's rows in the ORM."""
    APPEND_ONLY_TABLES.add(cls.__tablename__)
    event.listen(cls, "before_update", _refuse_update)
    event.listen(cls, "before_delete", _refuse_delete)
    return cls


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    # ``session.execute(update(Model)...)`` and ``delete(Model)`` skip the mapper
    # events above; this catches them (and the Core forms run through a session).
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in APPEND_ONLY_TABLES:
        raise ImmutableRowError(f"rows of {table.name} are append-only")


# --- the log -------------------------------------------------------------------

@append_only
class AuditEntry(Base):
    """One audited action: who, when, what, on what, and the particulars."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: None when the system or the command line acted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The institution the action concerns (the actor's, unless the caller says otherwise).
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"),
                                                        index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    institution = relationship("Institution", foreign_keys=[institution_id])

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action}>"


def _plain(value: Any) -> Any:
    """Details as plain JSON: decimals and dates as text, enums as their values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def audit(actor: Any, action: str, target: Any = None, details: dict[str, Any] | None = None,
          *, institution_id: int | None = None) -> AuditEntry:
    """Record that ``actor`` (a user, or None for the system) did ``action`` to ``target``.

    ``target`` is a model instance, a ``(type, id)`` pair or None. The row joins
    the caller's unit of work: it commits with the action or not at all.
    """
    target_type = target_id = None
    if isinstance(target, tuple):
        target_type, target_id = target[0], str(target[1])
    elif target is not None:
        target_type = getattr(target, "__tablename__", type(target).__name__)
        target_id = str(inspect(target).identity[0]) if inspect(target).identity else None
    if institution_id is None and actor is not None:
        institution_id = actor.institution_id
    entry = AuditEntry(actor_id=actor.id if actor is not None else None,
                       institution_id=institution_id, action=action, target_type=target_type,
                       target_id=target_id, details=_plain(details or {}))
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_download(actor: Any, action: str, target: Any = None,
                   details: dict[str, Any] | None = None, *,
                   institution_id: int | None = None) -> None:
    """Record that ``actor`` is taking personal data away in a file, before they have it.

    A download is a page view, which otherwise only reads: the entry is written
    and committed in a write phase of its own, so no file leaves unrecorded.
    """
    with db.write_phase():
        audit(actor, action, target, details, institution_id=institution_id)


def audit_visible_to(actor: Any) -> Select:
    """The log entries an administrator may read, newest first."""
    from lms.users.models import Role

    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor.role == Role.REGIONAL_ADMIN:
        return stmt
    if actor.role == Role.INSTITUTION_ADMIN and actor.institution_id is not None:
        return stmt.where(or_(AuditEntry.actor_id == actor.id,
                              AuditEntry.institution_id == actor.institution_id))
    return stmt.where(AuditEntry.actor_id == actor.id, AuditEntry.id.is_(None))
