"""What video gives other domains through the hooks they offer: the words of a video
lesson's subtitles for the search index, and the transcode pipeline for learners'
practical evidence videos."""

from __future__ import annotations

from lms.assessment.operations.practical import EVIDENCE_VIDEO_HANDLERS
from lms.search.documents import LESSON_TEXT_PROVIDERS
from lms.video.operations import take_evidence_video
from lms.video.util import lesson_subtitle_text

if lesson_subtitle_text not in LESSON_TEXT_PROVIDERS:
    LESSON_TEXT_PROVIDERS.append(lesson_subtitle_text)
if take_evidence_video not in EVIDENCE_VIDEO_HANDLERS:
    EVIDENCE_VIDEO_HANDLERS.append(take_evidence_video)
