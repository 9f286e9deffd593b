"""The target-group tagging page: administrators only, tags posted in the body, never in URLs."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, widgets

from lms.core.access import roles_required
from lms.core.forms import WebForm
from lms.extensions import db
from lms.users.models import Role, User
from lms.users.target_groups import TARGET_GROUP_LABELS, can_tag, groups_of, set_target_groups


class TargetGroupForm(WebForm):
    """One checkbox per key group of the policy."""

    groups = SelectMultipleField(
        _l("Target groups"), choices=lambda: [(g.value, label) for g, label in
                                              TARGET_GROUP_LABELS.items()],
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False))


@roles_required(Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
def target_groups(user_id: int) -> str | Response:
    learner = db.get_or_404(User, user_id)
    if not can_tag(current_user, learner):
        abort(403)
    form = TargetGroupForm()
    if form.validate_on_submit():
        added, removed = set_target_groups(current_user, learner, form.groups.data)
        db.session.commit()
        flash(_("The target groups are saved.") if added or removed
              else _("Nothing changed."), "success")
        return redirect(url_for("users.target_groups", user_id=learner.id))
    if not form.is_submitted():
        form.groups.data = sorted(g.value for g in groups_of(learner))
    return render_template("users/target_groups.html", form=form, learner=learner)
