"""Real media files for the video tests, made with ffmpeg's lavfi sources once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ffmpeg
import pytest


def _video(width: int, height: int, seconds: float, fps: int = 25):
    return ffmpeg.input(f"testsrc2=size={width}x{height}:rate={fps}", f="lavfi", t=seconds)


def _tone(seconds: float, channels: int = 1):
    layout = "stereo" if channels == 2 else "mono"
    return ffmpeg.input(f"sine=frequency=440:sample_rate=48000,aformat=channel_layouts={layout}",
                        f="lavfi", t=seconds)


def _write(path: Path, *streams, **options) -> None:
    ffmpeg.output(*streams, str(path), **options).run(quiet=True, overwrite_output=True)


H264 = {"c:v": "libx264", "preset": "ultrafast", "pix_fmt": "yuv420p"}


def _builders() -> dict[str, Callable[[Path], None]]:
    return {
        "h264_aac.mp4": lambda p: _write(
            p, _video(320, 240, 3), _tone(3), **H264, **{"c:a": "aac"}),
        "h264_aac_faststart.mp4": lambda p: _write(
            p, _video(320, 240, 3), _tone(3), **H264, **{"c:a": "aac"}, movflags="+faststart"),
        "vp9_opus.webm": lambda p: _write(
            p, _video(320, 240, 3), _tone(3),
            **{"c:v": "libvpx-vp9", "deadline": "realtime", "cpu-used": 8, "c:a": "libopus"}),
        "h264_vorbis.mkv": lambda p: _write(
            p, _video(320, 240, 3), _tone(3), **H264, **{"c:a": "libvorbis"}),
        "silent.mp4": lambda p: _write(p, _video(320, 240, 2), **H264),
        "rotated_phone.mp4": _rotated_phone_video,
        "audio_only.mp4": lambda p: _write(p, _tone(3), **{"c:a": "aac"}),
        "mpeg4.mkv": lambda p: _write(p, _video(320, 240, 2), **{"c:v": "mpeg4"}),
        "pcm_sound.mov": lambda p: _write(
            p, _video(320, 240, 2), _tone(2), **H264, **{"c:a": "pcm_s16le"}),
        "with_subtitles.mkv": lambda p: _write(
            p, _video(320, 240, 2), ffmpeg.input(str(_subtitle_source(p))), **H264,
            **{"c:s": "srt"}),
        "still.jpg": lambda p: _write(p, _video(320, 240, 1), **{"frames:v": 1}),
        # As phones write them: a QuickTime file with a timecode (tmcd) data track.
        "phone_timecode.mov": lambda p: _write(
            p, _video(320, 240, 2), _tone(2), **H264, **{"c:a": "aac"}, timecode="01:00:00:00"),
        # For transcoding: a 720p lesson, a 360p one and a small portrait phone clip.
        "lesson_720p.mp4": lambda p: _write(
            p, _video(1280, 720, 6, fps=30), _tone(6, channels=2), **H264, **{"c:a": "aac"}),
        "lesson_360p.mp4": lambda p: _write(
            p, _video(640, 360, 4), _tone(4), **H264, **{"c:a": "aac"}),
        "portrait_silent.mp4": lambda p: _write(p, _video(360, 640, 2), **H264),
    }


def _rotated_phone_video(path: Path) -> None:
    # A phone stores an upright video as landscape frames plus a rotation; the
    # rotation survives only a stream copy, so encode first, then remux.
    landscape = path.with_suffix(".landscape.mp4")
    _write(landscape, _video(320, 240, 2), **H264)
    _write(path, ffmpeg.input(str(landscape)), c="copy", **{"metadata:s:v:0": "rotate=90"})


def _subtitle_source(path: Path) -> Path:
    srt = path.with_suffix(".srt")
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nཐང་ཀ།\n", encoding="utf-8")
    return srt


class MediaLibrary:
    """Generated media files by name, each made on first use and kept for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._builders = _builders()

    def __getitem__(self, name: str) -> Path:
        path = self.root / name
        if not path.exists():
            self._builders[name](path)
        return path


# Fixtures carry explicit names so test modules can import them under other
# names (for runs with --noconftest) without shadowing their arguments.


@pytest.fixture(scope="session", name="media")
def generated_media(tmp_path_factory: pytest.TempPathFactory) -> MediaLibrary:
    """Generated sample media shared by the whole session."""
    return MediaLibrary(tmp_path_factory.mktemp("generated-media"))


@pytest.fixture(name="upload_dir")
def fresh_upload_dir(tmp_path: Path) -> Path:
    """A media root for one test, where uploads get server-made names."""
    root = tmp_path / "media" / "uploads"
    root.mkdir(parents=True)
    return root
