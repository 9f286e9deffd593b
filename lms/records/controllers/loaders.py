"""Loaders: fetch a record, certificate, entry or export together with the right to see it."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from lms.extensions import db
from lms.records import permissions
from lms.records.models import Certificate, Export, LedgerEntry
from lms.records.util import certificate_by_serial
from lms.users.models import Role, User


def load_learner(user_id: int) -> User:
    """A learner whose record the current user may read (404 if no such learner, else 403)."""
    learner = db.session.get(User, user_id)
    if learner is None or learner.role != Role.LEARNER:
        abort(404)
    if not permissions.can_view_record(current_user, learner):
        abort(403)
    return learner


def load_certificate(serial: str) -> Certificate:
    """A certificate the current user may download (its holder or an admin in scope)."""
    cert = certificate_by_serial(serial)
    if cert is None:
        abort(404)
    if not permissions.can_view_certificate(current_user, cert):
        abort(403)
    return cert


def load_entry_to_correct(entry_id: int) -> LedgerEntry:
    entry = db.get_or_404(LedgerEntry, entry_id)
    if not permissions.can_correct(current_user, entry):
        abort(403)
    return entry


def load_export(export_id: int) -> Export:
    """An export; only the admin who asked for it may see or download it."""
    export = db.get_or_404(Export, export_id)
    if not permissions.can_download_export(current_user, export):
        abort(403)
    return export
