"""Two tabs adding the first subtitles of one language at the same moment: they take turns,
so both succeed, one file stays (the second's), and none is left on disk unnamed."""

from __future__ import annotations

import contextlib
import io
import threading

from sqlalchemy import select

from lms.core.storage import storage
from lms.extensions import db as database
from lms.video import operations
from lms.video.models import Subtitle


def test_two_tabs_adding_subtitles_in_one_language_at_once(app, committed_make, monkeypatch):
    teacher = committed_make.instructor()
    video = committed_make.video(uploader=teacher)
    media_dir = storage().path(video.renditions_key).parent
    # Both uploads stop after reading their file, before touching the video's subtitles.
    # (SQLite's writers take turns from their first statement: there the wait runs out.)
    arrived = threading.Barrier(2, timeout=2)
    real_parse = operations.parse_subtitles

    def parse_after_meeting(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(operations, "parse_subtitles", parse_after_meeting)

    def tab():
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = teacher.get_id(), True
        return client

    results: list[int | str] = []

    def send(client, text):
        vtt = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{text}\n".encode()
        try:
            response = client.post(f"/teach/videos/{video.id}/subtitles",
                                   data={"language": "bo", "file": (io.BytesIO(vtt), "a.vtt")},
                                   content_type="multipart/form-data")
            results.append(response.status_code)
        except Exception as exc:  # raised under TESTING: a 500 in production
            results.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=send, args=(tab(), text))
               for text in ("ཐང་ཀ།", "唐卡")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [302, 302], results
    database.session.remove()
    rows = database.session.scalars(select(Subtitle).where(Subtitle.video_id == video.id)).all()
    assert len(rows) == 1
    files = sorted(p.name for p in (media_dir / "subtitles").iterdir())
    assert files == [rows[0].key.rsplit("/", 1)[-1]]
