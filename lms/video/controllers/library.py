"""The instructor's video library: upload, follow processing, subtitle, retry, delete, and
choose the video a lesson plays."""

from __future__ import annotations

import os
from typing import IO

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.core.access import roles_required
from lms.core.errors import UserError
from lms.core.forms import EmptyForm
from lms.courses.controllers.loaders import load_editable_lesson
from lms.extensions import db
from lms.uploads import operations as uploads
from lms.users.models import STAFF_ROLES, Role, User
from lms.video import operations, permissions, spool, util
from lms.video.controllers.loaders import load_video
from lms.video.controllers.playback import serve, serve_subtitle
from lms.video.forms import AttachForm, RenameForm, SubtitleForm, UploadForm
from lms.web.menus import dashboard_panel


def _flash_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


@roles_required(*STAFF_ROLES)
def library() -> str:
    page = db.paginate(util.library_query(current_user), request.args.get("page", 1, type=int))
    return render_template("video/library.html", page=page, form=UploadForm(),
                           statuses={v.id: util.video_status(v) for v in page.items},
                           can_upload=permissions.can_upload_video(current_user))


def _stream_size(stream: IO[bytes]) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


@roles_required(*STAFF_ROLES)
def upload() -> Response:
    if not permissions.can_upload_video(current_user):
        abort(403)
    form = UploadForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for("video.library"))
    try:
        upload_id = form.upload_id.data
        if not upload_id:  # no JavaScript: the whole file came with the form
            file = form.file.data
            if file is None or not file.filename:
                raise UserError(_l("Choose a video file."), "file")
            upload_id = uploads.store_file(current_user, purpose="video", filename=file.filename,
                                           stream=file.stream, size=_stream_size(file.stream)).id
        video = operations.add_video(current_user, upload_id, title=form.title.data)
    except UserError as err:
        err.report()
        return redirect(url_for("video.library"))
    db.session.commit()
    flash(_("The video is uploaded. It is now checked and prepared for playback; "
            "this page shows how far it has got."), "success")
    return redirect(url_for("video.detail", video_id=video.id))


@roles_required(*STAFF_ROLES)
def detail(video_id: int) -> str:
    video = load_video(video_id)
    return render_template(
        "video/detail.html", video=video, status=util.video_status(video),
        lessons=util.lessons_playing(video), download_size=util.download_size(video),
        can_edit=permissions.can_edit_video(current_user, video), form=EmptyForm(),
        rename_form=RenameForm(title=video.title), subtitle_form=SubtitleForm())


@roles_required(*STAFF_ROLES)
def status(video_id: int) -> dict:
    return util.video_status(load_video(video_id)).to_json()


@roles_required(*STAFF_ROLES)
def rename(video_id: int) -> Response:
    video = load_video(video_id, edit=True)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            operations.rename_video(current_user, video, form.title.data)
        except UserError as err:
            err.report()
        else:
            db.session.commit()
    return redirect(url_for("video.detail", video_id=video_id))


@roles_required(*STAFF_ROLES)
def retry(video_id: int) -> Response:
    video = load_video(video_id, edit=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        operations.retry_video(current_user, video)
    except UserError as err:
        err.report()
    else:
        db.session.commit()
        flash(_("The video is being prepared again."), "success")
    return redirect(url_for("video.detail", video_id=video_id))


@roles_required(*STAFF_ROLES)
def delete(video_id: int) -> Response:
    video = load_video(video_id, edit=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        operations.delete_video(current_user, video)
    except UserError as err:
        err.report()
        return redirect(url_for("video.detail", video_id=video_id))
    db.session.commit()
    flash(_("The video is deleted."), "success")
    return redirect(url_for("video.library"))


@roles_required(*STAFF_ROLES)
def add_subtitle(video_id: int) -> Response:
    video = load_video(video_id, edit=True)
    form = SubtitleForm()
    if form.validate_on_submit():
        file = form.file.data
        # One byte over the limit is enough for the parser to say the file is too large.
        data = file.read(current_app.config["VIDEO_SUBTITLE_MAX_BYTES"] + 1)
        try:
            operations.save_subtitle(current_user, video, form.language.data, data,
                                     file.filename or "")
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("The subtitles are saved."), "success")
    else:
        _flash_errors(form)
    return redirect(url_for("video.detail", video_id=video_id))


@roles_required(*STAFF_ROLES)
def delete_subtitle(video_id: int, language: str) -> Response:
    video = load_video(video_id, edit=True)
    if EmptyForm().validate_on_submit():
        operations.delete_subtitle(current_user, video, language)
        db.session.commit()
    return redirect(url_for("video.detail", video_id=video_id))


@roles_required(*STAFF_ROLES)
def preview(video_id: int, name: str) -> Response:
    return serve(load_video(video_id), name)


@roles_required(*STAFF_ROLES)
def preview_subtitle(video_id: int, language: str) -> Response:
    return serve_subtitle(load_video(video_id), language)


@roles_required(*STAFF_ROLES)
def attach(lesson_id: int) -> Response:
    lesson = load_editable_lesson(lesson_id)
    form = AttachForm()
    form.video_id.choices = [(v.id, v.title) for v in util.choices_for_course(lesson.course)]
    if form.validate_on_submit():
        try:
            operations.attach_video(current_user, lesson, load_video(form.video_id.data))
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("The lesson plays this video now."), "success")
    else:
        flash(_("Choose a video from the list."), "error")
    return redirect(url_for("courses.edit_lesson", lesson_id=lesson_id))


@dashboard_panel(*STAFF_ROLES, order=30)
def _library_panel(user: User) -> dict | None:
    if not (permissions.can_upload_video(user) or user.role == Role.REGIONAL_ADMIN):
        return None
    videos = db.session.scalars(util.library_query(user).limit(5)).all()
    return {"template": "video/panel_library.html", "videos": videos,
            "statuses": {v.id: util.video_status(v) for v in videos}}


def install(state: BlueprintSetupState) -> None:
    """Template helpers for the video lesson editor (included in the courses' lesson form),
    and the spool that takes watch heartbeats in."""
    spool.init_app(state.app)
    state.app.jinja_env.globals.update(lesson_video=util.video_of,
                                       video_choices=util.choices_for_course)
