"""Nothing reaches the transcoder unless ffprobe, behind a byte sniff, accepts it."""

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

import lms.video.probe as probe_module
from lms.video.probe import ProbeLimits, VideoRejected, _judge, probe_video

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import fresh_upload_dir, generated_media  # noqa: F401

pytestmark = pytest.mark.no_database

LIMITS = ProbeLimits()


def upload(media, name: str, upload_dir: Path, as_name: str = "upload-7f3a.mp4") -> Path:
    """Copy a generated file under a server-made name, as the upload path stores it."""
    target = upload_dir / as_name
    shutil.copyfile(media[name], target)
    return target


def rejection(path: Path, limits: ProbeLimits = LIMITS) -> VideoRejected:
    with pytest.raises(VideoRejected) as rejected:
        probe_video(path, limits)
    return rejected.value


# accepted


def test_h264_aac_mp4_is_accepted_with_its_streams(media, upload_dir):
    result = probe_video(upload(media, "h264_aac.mp4", upload_dir), LIMITS)
    assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
    assert (result.width, result.height, result.fps) == (320, 240, 25)
    assert result.duration_s == pytest.approx(3, abs=0.1)
    assert [s.kind for s in result.streams] == ["video", "audio"]
    assert json.loads(result.to_json())["streams"][1]["codec"] == "aac"


def test_webm_with_vp9_and_opus_is_accepted_as_matroska(media, upload_dir):
    result = probe_video(upload(media, "vp9_opus.webm", upload_dir), LIMITS)
    assert (result.container, result.video_codec, result.audio_codec) == (
        "matroska", "vp9", "opus")


def test_mkv_with_h264_and_vorbis_is_accepted(media, upload_dir):
    result = probe_video(upload(media, "h264_vorbis.mkv", upload_dir), LIMITS)
    assert (result.container, result.audio_codec) == ("matroska", "vorbis")


def test_video_without_sound_is_accepted(media, upload_dir):
    result = probe_video(upload(media, "silent.mp4", upload_dir), LIMITS)
    assert not result.has_audio
    assert result.audio_codec is None


def test_phone_video_filmed_upright_reports_its_display_size(media, upload_dir):
    result = probe_video(upload(media, "rotated_phone.mp4", upload_dir), LIMITS)
    assert (result.width, result.height) == (240, 320)


def test_phone_video_with_a_timecode_track_is_accepted_and_the_track_ignored(media, upload_dir):
    result = probe_video(upload(media, "phone_timecode.mov", upload_dir, "upload-8.mov"), LIMITS)
    assert [s.kind for s in result.streams] == ["video", "audio"]
    assert result.ignored_streams == (2,)


def ffprobe_answer(*extra_streams: dict) -> dict:
    """What ffprobe says about a phone video, with extra streams after picture and sound."""
    return {
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "3.0",
                   "bit_rate": "900000"},
        "streams": [
            {"index": 0, "codec_type": "video", "codec_name": "hevc", "width": 1920,
             "height": 1080, "avg_frame_rate": "30/1"},
            {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2,
             "sample_rate": "44100"},
            *({"index": 2 + i, **s} for i, s in enumerate(extra_streams)),
        ],
    }


def test_iphone_metadata_tracks_are_ignored_but_other_data_is_refused():
    iphone = ffprobe_answer({"codec_type": "data", "codec_tag_string": "mebx"},
                            {"codec_type": "data", "codec_tag_string": "mebx"},
                            {"codec_type": "data", "codec_tag_string": "tmcd"})
    result = _judge(iphone, "mp4", 5000, LIMITS)
    assert (result.video_codec, result.ignored_streams) == ("hevc", (2, 3, 4))
    for refused in ({"codec_type": "data", "codec_tag_string": "gpmd"},
                    {"codec_type": "subtitle", "codec_tag_string": "tmcd",
                     "codec_name": "mov_text"},
                    {"codec_type": "attachment", "codec_tag_string": "mebx"}):
        with pytest.raises(VideoRejected) as rejected:
            _judge(ffprobe_answer(refused), "mp4", 5000, LIMITS)
        assert rejected.value.code == "stream_type"


def test_ignored_tracks_still_count_towards_the_stream_limit():
    many = ffprobe_answer(*[{"codec_type": "data", "codec_tag_string": "mebx"}] * 7)
    with pytest.raises(VideoRejected) as rejected:
        _judge(many, "mp4", 5000, LIMITS)
    assert rejected.value.code == "too_many_streams"


# rejected before ffprobe


def test_zero_byte_file_is_rejected_as_empty(upload_dir):
    empty = upload_dir / "upload-empty.mp4"
    empty.touch()
    assert rejection(empty).code == "empty"


def test_truncated_mp4_is_rejected(media, upload_dir):
    for name in ("h264_aac.mp4", "h264_aac_faststart.mp4"):  # index at the end, and at the start
        path = upload(media, name, upload_dir)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        rejected = rejection(path)
        assert rejected.code == "truncated"
        assert "incomplete" in str(rejected.reason)


def test_truncated_webm_is_rejected(media, upload_dir):
    path = upload(media, "vp9_opus.webm", upload_dir)
    path.write_bytes(path.read_bytes()[:2000])
    assert rejection(path).code == "truncated"


def test_text_file_named_mp4_is_rejected(upload_dir):
    path = upload_dir / "upload-text.mp4"
    path.write_text("ཐང་ཀ་འབྲི་ཚུལ། 唐卡绘画教程\n", encoding="utf-8")
    rejected = rejection(path)
    assert rejected.code == "not_video"
    assert "MP4" in str(rejected.reason)


def test_jpeg_named_mp4_is_rejected(media, upload_dir):
    assert rejection(upload(media, "still.jpg", upload_dir)).code == "not_video"


def test_symlink_or_fifo_in_place_of_an_upload_is_not_followed_or_waited_on(media, upload_dir):
    link = upload_dir / "upload-link.mp4"
    link.symlink_to(media["h264_aac.mp4"])
    assert rejection(link).code == "not_a_file"
    fifo = upload_dir / "upload-fifo.mp4"
    os.mkfifo(fifo)
    assert rejection(fifo).code == "not_a_file"


def test_hls_playlist_named_mp4_is_rejected_without_opening_the_file_it_points_at(
        tmp_path, upload_dir, monkeypatch):
    outside = tmp_path / "outside-media-root"
    outside.mkdir()
    canary = outside / "secret.ts"
    # A named pipe as canary: whoever opens it for reading releases the writer below.
    os.mkfifo(canary)
    opened, finished = [], threading.Event()

    def watch() -> None:
        fd = os.open(canary, os.O_WRONLY)  # blocks until a reader opens the canary
        opened.append(not finished.is_set())
        os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    playlist = upload_dir / "upload-playlist.mp4"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:4.0,\nfile:{canary}\n#EXTINF:4.0,\n../../../outside-media-root/secret.ts\n"
        "#EXT-X-ENDLIST\n",
        encoding="utf-8",
    )
    ffprobe_runs = []
    real_run = probe_module.subprocess.run
    monkeypatch.setattr(probe_module.subprocess, "run",
                        lambda args, **kw: ffprobe_runs.append(args) or real_run(args, **kw))

    assert rejection(playlist).code == "not_video"

    assert ffprobe_runs == []
    finished.set()
    release = os.open(canary, os.O_RDONLY | os.O_NONBLOCK)  # the watcher sees us, not ffprobe
    watcher.join(timeout=5)
    os.close(release)
    assert opened == [False]


# rejected by ffprobe's answer


def test_audio_only_file_is_rejected(media, upload_dir):
    rejected = rejection(upload(media, "audio_only.mp4", upload_dir))
    assert rejected.code == "no_video"
    assert "no video" in str(rejected.reason)


def test_video_in_a_codec_not_on_the_list_is_rejected(media, upload_dir):
    rejected = rejection(upload(media, "mpeg4.mkv", upload_dir, "upload-3.mkv"))
    assert rejected.code == "video_codec"
    assert "mpeg4" in str(rejected.reason)


def test_sound_in_a_codec_not_on_the_list_is_rejected(media, upload_dir):
    assert rejection(upload(media, "pcm_sound.mov", upload_dir)).code == "audio_codec"


def test_file_with_a_subtitle_stream_is_rejected(media, upload_dir):
    rejected = rejection(upload(media, "with_subtitles.mkv", upload_dir, "upload-4.mkv"))
    assert rejected.code == "stream_type"
    assert "subtitle" in str(rejected.reason)


@pytest.mark.parametrize(("limits", "code", "words"), [
    (ProbeLimits(max_duration_s=2), "too_long", "minutes"),
    (ProbeLimits(max_width=160, max_height=120), "frame_size", "320×240"),
    (ProbeLimits(max_fps=24), "frame_rate", "25"),
    (ProbeLimits(max_streams=1), "too_many_streams", "2 streams"),
    (ProbeLimits(max_bytes=1000), "too_large", "MB"),
])
def test_video_over_a_limit_is_rejected_with_the_limit_named(media, upload_dir, limits, code,
                                                             words):
    rejected = rejection(upload(media, "h264_aac.mp4", upload_dir), limits)
    assert rejected.code == code
    assert words in str(rejected.reason)


def test_frame_size_limit_holds_in_either_orientation(media, upload_dir):
    portrait_limits = ProbeLimits(max_width=240, max_height=320)
    assert probe_video(upload(media, "h264_aac.mp4", upload_dir), portrait_limits).width == 320


def test_probe_that_outlives_its_timeout_is_stopped(media, upload_dir):
    rejected = rejection(upload(media, "h264_aac.mp4", upload_dir), ProbeLimits(timeout_s=0.001))
    assert rejected.code == "timeout"


def test_limits_come_from_the_config():
    limits = ProbeLimits.from_config({"VIDEO_MAX_DURATION_S": 600, "VIDEO_MAX_FPS": 30})
    assert (limits.max_duration_s, limits.max_fps, limits.max_streams) == (600, 30, 8)
