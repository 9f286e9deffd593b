"""The administrators' dashboard: hours and completion, as SVG charts with tables beside them."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user

from lms.core.access import roles_required
from lms.core.db import utcnow
from lms.core.i18n import DISPLAY_TZ
from lms.records import charts, dashboards, permissions
from lms.users.models import Role


@roles_required(Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
def dashboard() -> str:
    scope = None if permissions.is_regional(current_user) else current_user.institution_id
    now = utcnow().astimezone(DISPLAY_TZ)
    unit = _("h")
    sections = []

    def add(key: str, title: str, heading: str, rows: list, *, line: bool = False) -> None:
        # The line chart's axis carries no unit: its title says what it counts.
        svg = (charts.responsive(charts.line_chart, rows, title=title, chart_id=f"chart-{key}")
               if line else charts.responsive(charts.bar_chart, rows, title=title, unit=unit,
                                              chart_id=f"chart-{key}"))
        sections.append({"key": key, "title": title, "heading": heading, "rows": rows,
                         "svg": svg})

    add("month", _("Hours credited by month"), _("Month"), dashboards.hours_by_month(scope, now),
        line=True)
    add("type", _("Hours by training type"), _("Training type"),
        dashboards.hours_by_training_type(scope))
    add("institution", _("Hours by training institution"), _("Training institution"),
        dashboards.hours_by_institution(scope))
    add("region", _("Hours by prefecture"), _("Prefecture"), dashboards.hours_by_region(scope))
    add("group", _("Hours by target group"), _("Target group"),
        dashboards.hours_by_target_group(scope))
    rates = []
    for key, title, heading, rows in (
            ("course-rate", _("Completion rate by course"), _("Course"),
             dashboards.completion_by_course(scope)),
            ("institution-rate", _("Completion rate by institution"), _("Training institution"),
             dashboards.completion_by_institution(scope))):
        rates.append({"key": key, "title": title, "heading": heading, "rows": rows,
                      "svg": charts.responsive(charts.bar_chart,
                                               [(r.label, r.percent) for r in rows],
                                               title=title, unit="%", chart_id=f"chart-{key}")})
    return render_template("records/dashboard.html", sections=sections, rates=rates,
                           active=dashboards.active_learners(scope, now), now=now,
                           institution=current_user.institution if scope else None)
