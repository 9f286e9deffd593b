"""The public catalogue and what learners do: enrol, study lessons, see their progress."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from lms.core import cache
from lms.core.access import login_required, public
from lms.core.cache import (
    FragmentCache,
    PersonalPages,
    cached_for_visitors,
    keep_page,
    personal_page,
)
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.forms import EmptyForm
from lms.core.i18n import current_locale
from lms.core.markup import render_markdown
from lms.core.storage import send_media
from lms.courses import operations, util
from lms.courses.controllers.loaders import (
    load_attachment,
    load_course,
    load_lesson,
)
from lms.courses.kinds import LESSON_KINDS, kind_of
from lms.courses.listeners import CATALOGUE
from lms.courses.models import SKILL_LEVEL_LABELS, TRAINING_TYPE_LABELS, Course
from lms.extensions import db
from lms.users.models import PREFECTURES, Role, User
from lms.web.controllers import format_hours
from lms.web.menus import dashboard_panel, footer_link, home_block, nav_link

#: Catalogue pages look the same to everyone; their bodies are cached per revision.
CATALOGUE_PAGES = FragmentCache(512)


def _cached_body(name: str, key: tuple, render) -> Markup:
    revision = cache.current(db.session, CATALOGUE)
    return CATALOGUE_PAGES.get_or_render((name, revision, current_locale(), key), render)


@public
@cached_for_visitors(CATALOGUE, unless=lambda: bool(request.args.get("q")))
def catalogue() -> str:
    filters = util.CatalogueFilters.from_args(request.args)

    def render() -> Markup:
        page = db.paginate(util.catalogue_query(filters), filters.page, util.PER_PAGE)
        return Markup(render_template(  # noqa: S704 (a rendered, autoescaped template)
            "courses/catalogue_body.html", page=page, filters=filters,
            training_types=TRAINING_TYPE_LABELS, levels=SKILL_LEVEL_LABELS,
            prefectures=PREFECTURES,
            institutions=[i for i, n in util.institutions_with_courses() if n]))

    # With a search query the answer depends on the search index, which changes
    # after the catalogue does (when its jobs run): such pages are not cached.
    body = render() if filters.q else _cached_body(
        "catalogue", tuple(sorted(filters.args(page=filters.page).items())), render)
    return render_template("courses/page.html", title=_("Courses"), body=body)


@public
@cached_for_visitors(CATALOGUE)
def subsidised() -> str:
    def render() -> Markup:
        filters = util.CatalogueFilters(subsidised=True, sort="code")
        courses = db.session.scalars(util.catalogue_query(filters)).all()
        return Markup(render_template(  # noqa: S704
            "courses/subsidised_body.html", courses=courses))

    return render_template("courses/page.html", body=_cached_body("subsidised", (), render),
                           title=_("Government-subsidised training catalogue"))


@public
@cached_for_visitors(CATALOGUE)
def institutions() -> str:
    def render() -> Markup:
        return Markup(render_template(  # noqa: S704
            "courses/institutions_body.html", rows=util.institutions_with_courses()))

    return render_template("courses/page.html", body=_cached_body("institutions", (), render),
                           title=_("Training institutions"))


@public
def display(course_id: int) -> str:
    access = load_course(course_id)
    course = access.course
    outline = util.outline(course, access.enrolment if access.is_enrolled else None)
    missing = []
    if current_user.is_authenticated and not access.is_enrolled:
        missing = [c for c in course.prerequisites
                   if not operations.is_course_completed(current_user, c)]
    return render_template("courses/display.html", access=access, course=course,
                           outline=outline, missing=missing, form=EmptyForm())


@public
def cover(course_id: int) -> Response:
    course = load_course(course_id).course
    if not course.cover_key:
        abort(404)
    mimetype = "image/png" if course.cover_key.endswith(".png") else "image/jpeg"
    # The URL carries a version (see cover_url), so a new cover is fetched at once.
    return send_media(course.cover_key, mimetype=mimetype, inline=True, max_age=30 * 86400,
                      private=not course.is_published)


def _cover_url(course: Course) -> str:
    """The cover's address, changing whenever the cover does."""
    version = hashlib.sha256(course.cover_key.encode()).hexdigest()[:8]
    return url_for("courses.cover", course_id=course.id, v=version)


@login_required
def enrol(course_id: int) -> Response:
    access = load_course(course_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            operations.enrol(current_user, access.course)
        except UserError as err:
            db.session.rollback()
            flash(str(err.message), "error")
            return redirect(url_for("courses.display", course_id=course_id))
        db.session.commit()
        flash(_("You are enrolled. Welcome to the course!"), "success")
        return redirect(url_for("courses.resume", course_id=course_id))
    abort(400)


@login_required
def withdraw(course_id: int) -> Response:
    access = load_course(course_id)
    if EmptyForm().validate_on_submit():
        operations.withdraw(current_user, access.course)
        db.session.commit()
        flash(_("You have left the course. Your completed lessons and hours are kept."),
              "success")
    return redirect(url_for("courses.display", course_id=course_id))


@login_required
def resume(course_id: int) -> Response:
    """"Continue": the next incomplete lesson, or the course page when all is done."""
    access = load_course(course_id)
    if not access.is_enrolled:
        return redirect(url_for("courses.display", course_id=course_id))
    lesson = util.outline(access.course, access.enrolment).next_lesson
    if lesson is None:
        return redirect(url_for("courses.display", course_id=course_id))
    return redirect(url_for("courses.lesson", course_id=course_id, lesson_id=lesson.id))


#: Learners' lesson pages, kept until something they show changes.
LESSON_PAGES = PersonalPages()


def _serve_kept_lesson(fingerprint: util.LessonPageVersions, course_id: int,
                       lesson_id: int) -> bool:
    """What a view of a kept lesson page does besides rendering: note the view for the
    reading clock; a view that must refresh the learner's last activity is rendered."""
    now = utcnow()
    if operations.last_activity_is_stale(fingerprint.last_activity_at, now):
        return False
    operations.note_view(lesson_id, now)
    return True


@personal_page(LESSON_PAGES, util.lesson_page_fingerprint, _serve_kept_lesson)
@login_required
def lesson(course_id: int, lesson_id: int) -> str | Response:
    access = load_course(course_id)
    lesson = load_lesson(access, lesson_id)
    # Staff preview what learners cannot open yet, enrolled or not (a hidden lesson).
    preview = not access.is_enrolled or not lesson.is_published
    if preview and not access.can_edit:
        flash(_("Enrol in the course to study its lessons."), "warning")
        return redirect(url_for("courses.display", course_id=course_id))
    enrolment = None if preview else access.enrolment
    outline = util.outline(access.course, enrolment, include_unpublished=preview)
    item = outline.item(lesson.id)
    if item is not None and item.locked:
        return render_template("courses/locked.html", course=access.course, lesson=lesson,
                               outline=outline), 403
    kind = kind_of(lesson)
    now = utcnow()
    progress = item.progress if item is not None and not preview else None
    if not preview:
        operations.note_view(lesson.id, now)
        if operations.activity_is_stale(enrolment, now):
            with db.write_phase():
                operations.touch(enrolment, now)
    kind_ctx = kind.on_view(lesson, enrolment, progress, now)
    prev_lesson, next_lesson = outline.neighbours(lesson.id)
    if not preview and kind.page_kept:
        keep_page()
    return render_template("courses/lesson.html", course=access.course, lesson=lesson,
                           kind=kind, kind_ctx=kind_ctx, progress=progress, outline=outline,
                           preview=preview, prev_lesson=prev_lesson, next_lesson=next_lesson,
                           form=EmptyForm())


def _enrolled_progress(course_id: int, lesson_id: int):
    access = load_course(course_id)
    lesson = load_lesson(access, lesson_id)
    if not access.is_enrolled:
        abort(403)
    outline_item = util.outline(access.course, access.enrolment).item(lesson.id)
    if outline_item is None or outline_item.locked:
        abort(403)
    return access, lesson, operations.progress_for(access.enrolment, lesson)


@login_required
def reading(course_id: int, lesson_id: int) -> Response | tuple[dict, int]:
    """The learner says they have read the lesson, or the page's heartbeat reports reading."""
    access, lesson, progress = _enrolled_progress(course_id, lesson_id)
    if lesson.kind != "text":
        abort(404)
    now = utcnow()
    operations.record_reading(progress, now, lesson)
    operations.touch(access.enrolment, now)
    remaining = max(0, lesson.min_reading_seconds - progress.verified_seconds)
    completed = False
    if remaining == 0:
        completed = operations.complete_lesson(
            progress, evidence={"reading_seconds": progress.verified_seconds}, now=now)
    db.session.commit()
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return {"remaining": remaining, "complete": progress.completed_at is not None}, 200
    if remaining:
        flash(_("Please keep reading: %(seconds)s more seconds are needed.", seconds=remaining),
              "warning")
    elif completed:
        flash(_("Lesson complete."), "success")
    return redirect(url_for("courses.lesson", course_id=course_id, lesson_id=lesson_id))


@login_required
def attachment(course_id: int, lesson_id: int, attachment_id: int) -> Response:
    access = load_course(course_id)
    lesson = load_lesson(access, lesson_id)
    file = load_attachment(access, lesson, attachment_id)
    if access.is_enrolled:
        outline_item = util.outline(access.course, access.enrolment).item(lesson.id)
        if outline_item is None or outline_item.locked:
            abort(403)
        if _opened_from_here():
            with db.write_phase():
                progress = operations.progress_for(access.enrolment, lesson)
                operations.note_attachment_opened(progress, lesson, file.id)
                operations.touch(access.enrolment)
    elif not access.can_edit:
        abort(403)
    inline = request.args.get("inline") == "1"
    return send_media(file.key, mimetype=file.content_type, download_name=file.filename,
                      inline=inline)


def _opened_from_here() -> bool:
    """Did the learner open this from Yonten (or type its address)? A link on another site
    may download a course's file for its learner, but not credit it as opened."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


@login_required
def my_learning() -> str:
    return render_template("courses/my_learning.html", rows=util.my_learning(current_user))



# --- what courses add to the site's frame -------------------------------------------

nav_link("courses.catalogue", _l("Courses"), order=10)
footer_link("courses.subsidised", _l("Government-subsidised training catalogue"), order=10)
footer_link("courses.institutions", _l("Training institutions"), order=20)
home_block("courses/home_block.html", order=10)


@dashboard_panel(Role.LEARNER, order=10)
def _learning_panel(user: User) -> dict:
    return {"template": "courses/panel_learning.html", "rows": util.my_learning(user)[:5]}


@dashboard_panel(Role.INSTRUCTOR, Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN, order=20)
def _teaching_panel(user: User) -> dict:
    courses = db.session.scalars(util.courses_taught_by(user).limit(8)).all()
    return {"template": "courses/panel_teaching.html", "courses": courses}


def _featured_courses() -> Markup:
    def render() -> Markup:
        courses = db.session.scalars(util.catalogue_query(util.CatalogueFilters()).limit(6)).all()
        return Markup(render_template("courses/home_courses.html",  # noqa: S704
                                      featured=courses))

    return _cached_body("featured", (), render)


#: Outline labels per interface language: a syllabus has many lessons, the words are few.
_OUTLINE_WORDS: dict[str, dict[str, Any]] = {}


def _outline_words() -> dict[str, Any]:
    locale = current_locale()
    words = _OUTLINE_WORDS.get(locale)
    if words is None:
        words = _OUTLINE_WORDS[locale] = {
            "hours": _("%(hours)s h"), "optional": _("optional"), "hidden": _("hidden"),
            "completed": _("completed"), "locked": _("locked"),
            "kinds": {key: str(kind.label) for key, kind in LESSON_KINDS.items()}}
    return words


def _lesson_meta(lesson) -> str:
    """"Text · 1.5 h · optional": what the syllabus says about a lesson."""
    words = _outline_words()
    parts = [words["kinds"].get(lesson.kind, lesson.kind)]
    if lesson.credit_hours:
        parts.append(words["hours"].replace("%(hours)s", format_hours(lesson.credit_hours)))
    if not lesson.required:
        parts.append(words["optional"])
    if not lesson.is_published:
        parts.append(words["hidden"])
    return " · ".join(parts)


def install(state: BlueprintSetupState) -> None:
    """Template helpers of the courses domain."""
    env = state.app.jinja_env
    env.globals["lesson_meta"] = _lesson_meta
    env.globals["outline_marks"] = _outline_words
    env.globals["cover_url"] = _cover_url
    env.filters["markdown"] = render_markdown
    env.filters["kind_label"] = lambda key: LESSON_KINDS[key].label if key in LESSON_KINDS \
        else key
    env.globals["featured_courses"] = _featured_courses
