"""Probe an uploaded file before anything else reads it: allow-listed video or a reason.

Order of checks, cheapest and safest first: the file must be a regular file of
an allowed size whose first bytes are an MP4/MOV box or a Matroska/WebM EBML
header, and whose top-level structure reaches the end of the file
(``lms.video.containers``). Only then
does ffprobe see it, with the demuxer forced and protocols limited to local
files, so a text playlist (HLS, concat) is never parsed and never makes ffmpeg
open anything else. ffprobe's answer is then held against the allow-lists and
the limits.
"""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from lms.video.containers import Damaged, Truncated, sniff_container

FFPROBE = "ffprobe"

#: Demuxer to force (``-f``) -> the names ffprobe reports for it.
CONTAINERS: dict[str, frozenset[str]] = {
    "mp4": frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2"}),
    "matroska": frozenset({"matroska", "webm"}),
}
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1"})
AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis"})
#: Data tracks phones add beside the picture (QuickTime timecode, iPhone metadata):
#: accepted and ignored, never read or copied into the outputs. Other data is refused.
IGNORED_DATA_TAGS = frozenset({"tmcd", "mebx"})


class VideoRejected(Exception):
    """An upload that will not be transcoded, with a reason to show its owner."""

    def __init__(self, reason: LazyString, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.reason = reason
        #: Stable identifier of the kind of rejection, for logs, tests and the CLI.
        self.code = code
        #: Technical detail (ffprobe's error output) for logs, never for users.
        self.detail = detail


_CONFIG_KEYS = {"timeout_s": "VIDEO_PROBE_TIMEOUT_S"}


@dataclass(frozen=True)
class ProbeLimits:
    """What an accepted video may not exceed."""

    max_duration_s: float = 3 * 3600.0
    #: Frame size limits apply in either orientation (portrait phone videos).
    max_width: int = 3840
    max_height: int = 2160
    max_fps: float = 60.0
    max_streams: int = 8
    max_bytes: int = 4 * 1024**3
    timeout_s: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProbeLimits:
        """Limits from ``VIDEO_<FIELD>`` config keys (``VIDEO_PROBE_TIMEOUT_S`` for the timeout)."""
        values = {}
        for item in fields(cls):
            key = _CONFIG_KEYS.get(item.name, f"VIDEO_{item.name.upper()}")
            if key in config:
                values[item.name] = type(item.default)(config[key])
        return cls(**values)


@dataclass(frozen=True)
class StreamInfo:
    """One accepted stream, as ffprobe described it."""

    index: int
    kind: str  # "video" or "audio"
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    channels: int | None = None
    sample_rate: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    """An accepted video: what the transcoder needs to know about it."""

    #: Demuxer name to force with ``-f`` when reading the file again.
    container: str
    duration_s: float
    #: Display size: rotation and non-square pixels already applied.
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    audio_channels: int | None
    bit_rate: int
    size_bytes: int
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)
    #: Indexes of the phone data tracks that were accepted only to be left out.
    ignored_streams: tuple[int, ...] = field(default_factory=tuple)

    @property
    def has_audio(self) -> bool:
        """Whether there is an audio stream to carry into the renditions."""
        return self.audio_codec is not None

    def to_json(self) -> str:
        """The accepted streams as JSON, for ``lms video probe``."""
        return json.dumps(asdict(self), indent=2)


def input_url(path: Path) -> str:
    """The URL for ffmpeg/ffprobe: an explicit ``file:`` so no name is read as a protocol."""
    return f"file:{Path(path).resolve()}"


def input_options(container: str) -> dict[str, str]:
    """Input options for every ffmpeg/ffprobe read of an accepted file."""
    options = {"f": container, "protocol_whitelist": "file"}
    if container == "mp4":
        # QuickTime data references may point at other files; never follow them.
        options["enable_drefs"] = "0"
    return options


def probe_video(path: Path, limits: ProbeLimits) -> ProbeResult:
    """Accept the file at ``path`` as a video or raise :class:`VideoRejected`."""
    container, size = _sniff(Path(path), limits)
    data = _run_ffprobe(input_url(path), input_options(container), limits.timeout_s)
    return _judge(data, container, size, limits)


# Before ffprobe: the file's own bytes.


def _sniff(path: Path, limits: ProbeLimits) -> tuple[str, int]:
    """The container the first bytes announce, after size and structure checks."""
    try:
        # Non-blocking and no symlinks: a FIFO or a link planted in place of the
        # upload is refused without being waited on or followed.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise VideoRejected(_l("This is not a video file."), "not_a_file", str(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise VideoRejected(_l("This is not a video file."), "not_a_file")
        size = info.st_size
        if size == 0:
            raise VideoRejected(_l("The file is empty."), "empty")
        if size > limits.max_bytes:
            raise VideoRejected(
                _l("The file is %(size)s MB; the limit is %(limit)s MB.",
                   size=_mb(size), limit=_mb(limits.max_bytes)), "too_large")
        try:
            container = sniff_container(fh, size)
        except Truncated:
            raise _truncated() from None
        except Damaged as exc:
            raise _damaged(str(exc)) from None
        if container is not None:
            return container, size
    raise VideoRejected(
        _l("This file is not a video in a format we accept (MP4, MOV, WebM or MKV)."), "not_video")


def _damaged(detail: str = "") -> VideoRejected:
    return VideoRejected(_l("The video file is damaged."), "damaged", detail)


def _truncated() -> VideoRejected:
    return VideoRejected(
        _l("The file is incomplete: it ends before the video does. Please upload it again."),
        "truncated",
    )


# ffprobe.


def _run_ffprobe(url: str, options: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """What ``ffmpeg.probe(url, **options)`` runs, under a wall-clock timeout.

    ffmpeg-python 0.2's ``probe`` waits for ffprobe without a time limit and
    keeps the process to itself, so its command line is run here with a timeout
    (``subprocess.run`` kills the process when it expires).
    """
    args = [FFPROBE, "-show_format", "-show_streams", "-of", "json", "-v", "error"]
    for key, value in options.items():
        args += [f"-{key}", value]
    args.append(url)
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise VideoRejected(
            _l("The video could not be read in time (%(seconds)s seconds).",
               seconds=int(timeout_s)), "timeout") from None
    if done.returncode != 0:
        raise _damaged(done.stderr.decode("utf-8", "replace")[-2000:])
    try:
        return json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _damaged("unreadable ffprobe output") from None


# After ffprobe: allow-lists and limits.


def _judge(data: dict[str, Any], container: str, size: int, limits: ProbeLimits) -> ProbeResult:
    fmt = data.get("format") or {}
    if not set(str(fmt.get("format_name", "")).split(",")) & CONTAINERS[container]:
        raise VideoRejected(_l("This container format is not accepted."), "container")
    streams = data.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise VideoRejected(_l("The file has no video, only sound or other data."), "no_video")
    if len(streams) > limits.max_streams:
        raise VideoRejected(
            _l("The file has %(count)s streams; at most %(limit)s are accepted.",
               count=len(streams), limit=limits.max_streams), "too_many_streams")
    ignored = tuple(int(s.get("index", 0)) for s in streams if _is_ignored_data(s))
    accepted = [_judge_stream(s) for s in streams if not _is_ignored_data(s)]
    video = next(s for s in accepted if s.kind == "video")
    audio = next((s for s in accepted if s.kind == "audio"), None)
    width, height = _display_size(videos[0])
    if (max(width, height) > max(limits.max_width, limits.max_height)
            or min(width, height) > min(limits.max_width, limits.max_height)):
        raise VideoRejected(
            _l("The picture is %(width)s×%(height)s; the limit is %(max_width)s×%(max_height)s.",
               width=width, height=height,
               max_width=limits.max_width, max_height=limits.max_height), "frame_size")
    fps = video.fps or 0.0
    if fps > limits.max_fps:
        raise VideoRejected(
            _l("The video has %(fps)s frames per second; the limit is %(limit)s.",
               fps=round(fps, 2), limit=limits.max_fps), "frame_rate")
    duration = _number(fmt.get("duration"))
    if duration is None or duration <= 0:
        raise _damaged("no duration")
    if duration > limits.max_duration_s:
        raise VideoRejected(
            _l("The video lasts %(minutes)s minutes; the limit is %(limit)s minutes.",
               minutes=math.ceil(duration / 60), limit=int(limits.max_duration_s // 60)),
            "too_long",
        )
    return ProbeResult(
        container=container,
        duration_s=duration,
        width=width,
        height=height,
        fps=fps,
        video_codec=video.codec,
        audio_codec=audio.codec if audio else None,
        audio_channels=audio.channels if audio else None,
        bit_rate=int(_number(fmt.get("bit_rate")) or 0),
        size_bytes=size,
        streams=tuple(accepted),
        ignored_streams=ignored,
    )


def _is_ignored_data(stream: dict[str, Any]) -> bool:
    return (stream.get("codec_type") == "data"
            and str(stream.get("codec_tag_string", "")).lower() in IGNORED_DATA_TAGS)


def _judge_stream(stream: dict[str, Any]) -> StreamInfo:
    kind, codec = stream.get("codec_type"), str(stream.get("codec_name", "unknown"))
    index = int(stream.get("index", 0))
    if (stream.get("disposition") or {}).get("attached_pic") or kind not in ("video", "audio"):
        raise VideoRejected(
            _l("The file holds a kind of stream that is not accepted (%(kind)s).",
               kind=f"{kind or 'unknown'}: {codec}"), "stream_type")
    if kind == "video":
        if codec not in VIDEO_CODECS:
            raise VideoRejected(
                _l("The video is encoded as %(codec)s, which is not accepted.", codec=codec),
                "video_codec",
            )
        width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        if width <= 0 or height <= 0:
            raise _damaged("no frame size")
        fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
        if fps is None:
            raise _damaged("no frame rate")
        return StreamInfo(index, kind, codec, width=width, height=height, fps=fps)
    if codec not in AUDIO_CODECS:
        raise VideoRejected(
            _l("The sound is encoded as %(codec)s, which is not accepted.", codec=codec),
            "audio_codec",
        )
    return StreamInfo(index, kind, codec, channels=int(stream.get("channels") or 0) or None,
                      sample_rate=int(_number(stream.get("sample_rate")) or 0) or None)


def _display_size(stream: dict[str, Any]) -> tuple[int, int]:
    """Width and height as shown: pixel aspect ratio and rotation applied."""
    width, height = int(stream["width"]), int(stream["height"])
    sar = _rate(stream.get("sample_aspect_ratio"), separator=":")
    if sar and sar != 1:
        width = max(2, round(width * sar))
    rotation = _rotation(stream)
    if rotation % 180 == 90:
        width, height = height, width
    return width, height


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list") or ():
        if "rotation" in side_data:
            return int(_number(side_data["rotation"]) or 0) % 360
    return int(_number((stream.get("tags") or {}).get("rotate")) or 0) % 360


def _rate(value: Any, separator: str = "/") -> float | None:
    """``"30000/1001"`` as a number; None for ``0/0`` and other nonsense."""
    try:
        num, den = str(value).split(separator)
        result = int(num) / int(den)
    except (ValueError, ZeroDivisionError):
        return None
    return result if result > 0 and math.isfinite(result) else None


def _number(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _mb(size: int) -> int:
    return math.ceil(size / 1024**2)
