"""Fixtures of the assessment tests."""

from __future__ import annotations

import io

import pytest
from PIL import Image


@pytest.fixture
def jpeg() -> bytes:
    """A small JPEG photo of some work, as a learner's phone would send it."""
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (160, 40, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def learner_in_quiz(make, login_as):
    """An enrolled learner, logged in, and the course's quiz lesson."""
    def build(**settings):
        course, quiz_lesson, _practical = make.assessed_course(quiz=settings)
        learner = make.learner()
        make.enrolment(learner, course)
        return login_as(learner), learner, course, quiz_lesson
    return build
