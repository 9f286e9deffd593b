"""What video gives other domains through the hooks they offer: the words of a video
lesson's subtitles for the search index, and the transcode pipeline and player for learners'
practical evidence videos."""

from __future__ import annotations

from typing import Any

from lms.assessment.operations.evidence import EVIDENCE_VIDEO_HANDLERS, EvidenceVideoHandler
from lms.search.documents import LESSON_TEXT_PROVIDERS
from lms.video import operations, util
from lms.video.util import lesson_subtitle_text


class EvidenceVideos(EvidenceVideoHandler):
    """Evidence videos go through the library's probe and transcode, are played to the
    reviewer, and leave with the evidence. Assessment serves their files and decides who
    may see them."""

    def take(self, evidence: Any) -> None:
        operations.take_evidence_video(evidence)

    def discard(self, evidence: Any) -> None:
        operations.discard_evidence_video(evidence)

    def media(self, evidence: Any, name: str) -> util.MediaFile | None:
        video = util.evidence_video(evidence)
        return util.media_file(video, name) if video is not None else None

    def view(self, evidence: Any) -> dict[str, Any] | None:
        video = util.evidence_video(evidence)
        if video is None:
            return None
        return {"template": "video/evidence.html", "video": video,
                "status": util.video_status(video)}


if lesson_subtitle_text not in LESSON_TEXT_PROVIDERS:
    LESSON_TEXT_PROVIDERS.append(lesson_subtitle_text)
if not any(isinstance(h, EvidenceVideos) for h in EVIDENCE_VIDEO_HANDLERS):
    EVIDENCE_VIDEO_HANDLERS.append(EvidenceVideos())
