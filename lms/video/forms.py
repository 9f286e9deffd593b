"""Forms of the video library: upload, rename, subtitles, and choosing a lesson's video."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.core.forms import FileField, WebForm
from lms.video.models import SUBTITLE_LANGS

SUBTITLE_LANG_LABELS = {"bo": _l("Tibetan"), "zh": _l("Chinese"), "en": _l("English")}


class UploadForm(WebForm):
    """A video file: sent in resumable chunks by the page's script, or whole by the form."""

    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)],
                        description=_l("Leave empty to use the file's name."))
    file = FileField(_l("Video file"))
    #: Set by the resumable upload when every chunk is stored.
    upload_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])


class RenameForm(WebForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])


class SubtitleForm(WebForm):
    language = SelectField(_l("Language"),
                           choices=lambda: [(k, SUBTITLE_LANG_LABELS[k]) for k in SUBTITLE_LANGS])
    file = FileField(_l("Subtitle file (WebVTT or SRT)"), validators=[FileRequired()])


class AttachForm(WebForm):
    video_id = SelectField(_l("Video"), coerce=int)


