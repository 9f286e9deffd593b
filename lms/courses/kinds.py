"""Lesson kinds: the plug-in point through which text, attachment, video, quiz and practical
lessons are shown and completed.

A kind is a small class registered under the string key stored in
``Lesson.kind``. Courses owns the structure (sections, order, enrolment,
progress); each kind decides what a learner sees and when the lesson is
done, and calls ``courses.operations.complete_lesson`` when it is. The video,
assessment and practical domains register their kinds from their own
packages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from flask_babel import LazyString, ngettext
from flask_babel import lazy_gettext as _l

from lms.courses.models import Enrolment, Lesson, LessonProgress


class LessonKind:
    """Base class of lesson kinds: how a lesson of this kind is shown and completed."""

    key: ClassVar[str]
    label: ClassVar[LazyString]
    #: Template included in the lesson page (it receives ``lesson``, ``progress``, ``kind_ctx``).
    template: ClassVar[str]
    #: Template included in the lesson editor for kind-specific settings, if any.
    editor_template: ClassVar[str | None] = None
    #: Order in the "add a lesson" menu.
    order: ClassVar[int] = 50
    #: Whether a learner's page of such a lesson shows only the course, the lesson and the
    #: learner's progress in the course, so that it can be kept and shown again until one
    #: of them changes (see ``util.lesson_page_fingerprint``). A kind that shows state of
    #: its own (attempts, a signed watch pass) leaves this False.
    page_kept: ClassVar[bool] = False

    def requirement(self, lesson: Lesson) -> str:
        """What the learner must do to complete the lesson, in their language."""
        return ""

    def on_view(self, lesson: Lesson, enrolment: Enrolment | None,
                progress: LessonProgress | None, now: datetime) -> dict[str, Any]:
        """Called when a learner (or a previewing instructor) opens the lesson.

        Returns extra template context. It must not write to the database: a
        page view is a read (what it needs to remember goes in the session, or
        in the kind's own POST endpoint). ``enrolment`` is None in a preview,
        ``progress`` is None until the learner has done something.
        """
        return {}

    def publish_problems(self, lesson: Lesson) -> list[str]:
        """Reasons this lesson cannot be published yet (e.g. no video attached)."""
        return []

    def holds_learner_work(self, lesson: Lesson) -> bool:
        """Whether learners have left work in the lesson that lesson progress does not
        show (a quiz attempt, practical evidence): such a lesson is never deleted."""
        return False


LESSON_KINDS: dict[str, LessonKind] = {}


def register_kind(cls: type[LessonKind]) -> type[LessonKind]:
    """Class decorator: make ``cls`` available under ``cls.key``."""
    LESSON_KINDS[cls.key] = cls()
    return cls


def kind_of(lesson: Lesson) -> LessonKind:
    """The registered kind of a lesson (unknown kinds render as a plain text lesson)."""
    return LESSON_KINDS.get(lesson.kind) or LESSON_KINDS["text"]


def kind_choices() -> list[tuple[str, LazyString]]:
    """``(key, label)`` of every registered kind, in menu order."""
    return [(k.key, k.label) for k in sorted(LESSON_KINDS.values(), key=lambda k: k.order)]


@register_kind
class TextKind(LessonKind):
    """Markdown text, complete after the learner has spent its minimum reading time on it."""

    key = "text"
    label = _l("Text")
    template = "courses/kinds/text.html"
    order = 10
    page_kept = True

    def requirement(self, lesson: Lesson) -> str:
        minutes = max(1, round(lesson.min_reading_seconds / 60))
        return ngettext("Read this lesson for at least %(num)d minute.",
                        "Read this lesson for at least %(num)d minutes.", minutes)

    def on_view(self, lesson, enrolment, progress, now):
        seconds = progress.verified_seconds if progress else 0
        return {"remaining": max(0, lesson.min_reading_seconds - seconds)}


@register_kind
class AttachmentKind(LessonKind):
    """PDFs and images to download; complete once the learner has opened every file."""

    key = "attachment"
    label = _l("Files (PDF or images)")
    template = "courses/kinds/attachment.html"
    editor_template = "courses/kinds/attachment_editor.html"
    order = 20
    page_kept = True

    def requirement(self, lesson: Lesson) -> str:
        return str(_l("Open every file of this lesson."))

    def on_view(self, lesson, enrolment, progress, now):
        opened = set((progress.evidence or {}).get("opened", [])) if progress else set()
        return {"opened": opened}

    def publish_problems(self, lesson: Lesson) -> list[str]:
        return [] if lesson.attachments else [str(_l("Add at least one file."))]
