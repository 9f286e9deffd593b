"""Errors that operations raise for people to read."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input an operation refuses: a translatable ``message`` and the form ``field``."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field

    def report(self, form: Any = None) -> None:
        """In a controller: undo the unit of work, then show the message (beside a field or
        above the form, else as a flash message)."""
        from flask import flash

        from lms.extensions import db

        db.session.rollback()
        if form is not None:
            self.attach_to(form)
        else:
            flash(str(self.message), "error")

    def attach_to(self, form: Any) -> None:
        """Show the error beside its field (or above the form)."""
        target = getattr(form, self.field, None) if self.field else None
        if target is not None:
            target.errors = [*target.errors, self.message]
        else:
            form.form_errors.append(self.message)
