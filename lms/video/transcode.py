"""Transcode an accepted video with one ffmpeg process: HLS ladder, download MP4, poster.

The source is decoded once; a ``split`` filter feeds every rung, the MP4 and
the poster. Keyframes are forced at the same instants in every rung, so the
4-second segments line up and a player can switch quality at any segment.
Everything is written into a temporary directory beside ``out_dir`` and moved
into place only when ffmpeg has finished cleanly: a failed, killed or timed-out
run leaves nothing behind but its exception.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ffmpeg
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from lms.video.probe import ProbeResult, input_options, input_url
from lms.video.renditions import RENDITIONS, RenditionProfile, download_rung, ladder_for

FFMPEG = "ffmpeg"
SEGMENT_S = 4
DEFAULT_PRESET = "veryfast"
MASTER_NAME = "master.m3u8"
DOWNLOAD_NAME = "download.mp4"
POSTER_NAME = "poster.jpg"
#: Lines of ffmpeg's error output kept for the failure reason.
STDERR_TAIL_LINES = 30


class TranscodeFailed(Exception):
    """A transcode that produced nothing, with a reason for people and ffmpeg's last words."""

    def __init__(self, reason: LazyString, detail: str = "") -> None:
        super().__init__(f"{reason} {detail}".strip())
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RenditionOutput:
    """One rung as written: its profile key, real frame size and media playlist."""

    key: str
    width: int
    height: int
    bandwidth: int
    playlist: Path


@dataclass(frozen=True)
class TranscodeResult:
    """Where the finished outputs are."""

    out_dir: Path
    master_playlist: Path
    rungs: tuple[RenditionOutput, ...]
    download: Path
    download_key: str
    poster: Path

    @property
    def variant_playlists(self) -> dict[str, Path]:
        """Media playlist per rung key."""
        return {rung.key: rung.playlist for rung in self.rungs}


def transcode(
    source: Path,
    probe: ProbeResult,
    out_dir: Path,
    profiles: Mapping[str, RenditionProfile] | None = None,
    *,
    on_progress: Callable[[float], None],
    timeout_s: float,
    preset: str = DEFAULT_PRESET,
) -> TranscodeResult:
    """Write the ladder, MP4 and poster for ``source`` into ``out_dir``, or raise TranscodeFailed.

    ``on_progress`` is called in the caller's thread with the fraction done
    (0..1) as ffmpeg reports it, and with 1.0 at the end.
    """
    out_dir = Path(out_dir)
    ladder = ladder_for(probe, profiles or RENDITIONS)
    download = download_rung(ladder)
    _remove_leftovers(out_dir)
    work = out_dir.parent / f".{out_dir.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(parents=True)
    try:
        command = _command(source, probe, work, ladder, download, preset)
        _run(command, probe.duration_s, on_progress, timeout_s)
        _check_outputs(work, ladder)
        _move_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    on_progress(1.0)
    return TranscodeResult(
        out_dir=out_dir,
        master_playlist=out_dir / MASTER_NAME,
        rungs=tuple(
            RenditionOutput(p.key, *p.frame_size(probe.width, probe.height),
                            bandwidth=p.bandwidth, playlist=out_dir / f"{p.key}.m3u8")
            for p in ladder
        ),
        download=out_dir / DOWNLOAD_NAME,
        download_key=download.key,
        poster=out_dir / POSTER_NAME,
    )


def _command(
    source: Path,
    probe: ProbeResult,
    work: Path,
    ladder: list[RenditionProfile],
    download: RenditionProfile,
    preset: str,
) -> ffmpeg.nodes.OutputStream:
    """The whole job as one ffmpeg graph, with only server-made names in it."""
    src = ffmpeg.input(input_url(source), **input_options(probe.container))
    branches = src["v:0"].split()
    gop = max(1, round(probe.fps * SEGMENT_S))
    video_options: dict[str, object] = {
        "c:v": "libx264",
        "preset": preset,
        "pix_fmt": "yuv420p",
        # A fixed GOP, no scene-cut keyframes, and keyframes forced on the segment
        # clock (which also holds for variable frame rates): every rung cuts at
        # the same instants.
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{SEGMENT_S})",
    }
    audio_options: dict[str, object] = {"c:a": "aac"}
    if probe.audio_channels:
        audio_options["ac"] = min(probe.audio_channels, 2)

    rung_streams = []
    hls_options: dict[str, object] = {}
    stream_map = []
    download_video = None
    for i, profile in enumerate(ladder):
        width, height = profile.frame_size(probe.width, probe.height)
        scaled = branches[i].filter("scale", width, height).filter("setsar", "1")
        if profile is download:
            pair = scaled.split()
            scaled, download_video = pair[0], pair[1]
        rung_streams.append(scaled)
        hls_options.update(_rate_options(profile, f"v:{i}", f"a:{i}"))
        if probe.has_audio:
            rung_streams.append(src["a:0"])
            stream_map.append(f"v:{i},a:{i},name:{profile.key}")
        else:
            stream_map.append(f"v:{i},name:{profile.key}")
    hls = ffmpeg.output(
        *rung_streams,
        str(work / "%v.m3u8"),
        f="hls",
        hls_time=SEGMENT_S,
        hls_playlist_type="vod",
        hls_flags="independent_segments",
        hls_segment_type="mpegts",
        hls_segment_filename=str(work / "%v_%05d.ts"),
        master_pl_name=MASTER_NAME,
        var_stream_map=" ".join(stream_map),
        **video_options,
        **(audio_options if probe.has_audio else {}),
        **hls_options,
    )

    mp4_streams = [download_video] + ([src["a:0"]] if probe.has_audio else [])
    mp4 = ffmpeg.output(
        *mp4_streams,
        str(work / DOWNLOAD_NAME),
        f="mp4",
        movflags="+faststart",
        **video_options,
        **(audio_options if probe.has_audio else {}),
        **_rate_options(download, "v", "a"),
    )

    # One frame a tenth of the way in; trimming to a second lets the branch end
    # early instead of scaling frames that would be thrown away.
    poster_width, poster_height = ladder[-1].frame_size(probe.width, probe.height)
    poster_stream = (
        branches[len(ladder)]
        .filter("trim", start=round(probe.duration_s * 0.1, 3), duration=1)
        .filter("scale", poster_width, poster_height)
        .filter("setsar", "1")
    )
    poster = ffmpeg.output(poster_stream, str(work / POSTER_NAME),
                           f="image2", update=1, **{"frames:v": 1, "q:v": 3})

    return ffmpeg.merge_outputs(hls, mp4, poster).global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
    )


def _rate_options(profile: RenditionProfile, video: str, audio: str) -> dict[str, str]:
    return {
        f"b:{video}": f"{profile.video_kbps}k",
        f"maxrate:{video}": f"{profile.max_video_kbps}k",
        f"bufsize:{video}": f"{profile.max_video_kbps * 2}k",
        f"b:{audio}": f"{profile.audio_kbps}k",
    }


def _run(
    command: ffmpeg.nodes.OutputStream,
    duration_s: float,
    on_progress: Callable[[float], None],
    timeout_s: float,
) -> None:
    """Run ffmpeg, relaying progress, and kill it if it outlives ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    process: subprocess.Popen[bytes] = command.run_async(
        cmd=FFMPEG, pipe_stdout=True, pipe_stderr=True, overwrite_output=True)
    progress: queue.Queue[float | None] = queue.Queue()
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    readers = [
        threading.Thread(target=_read_progress, args=(process.stdout, duration_s, progress),
                         daemon=True),
        threading.Thread(target=_read_lines, args=(process.stderr, stderr_tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        reported = 0.0
        fraction: float | None = 0.0
        while fraction is not None:  # None: ffmpeg closed its output and is finishing
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timed_out(timeout_s, stderr_tail)
            try:
                fraction = progress.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if fraction is not None and fraction > reported:
                reported = fraction
                on_progress(fraction)
        try:
            returncode = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            raise _timed_out(timeout_s, stderr_tail) from None
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for reader in readers:
            reader.join(timeout=5)
    if returncode != 0:
        raise TranscodeFailed(_l("The video could not be transcoded."), "\n".join(stderr_tail))


def _timed_out(timeout_s: float, stderr_tail: deque[str]) -> TranscodeFailed:
    return TranscodeFailed(
        _l("Transcoding took longer than %(minutes)s minutes and was stopped.",
           minutes=max(1, round(timeout_s / 60))),
        "\n".join(stderr_tail),
    )


def _read_progress(stream: IO[bytes], duration_s: float, out: queue.Queue[float | None]) -> None:
    """Turn ``-progress`` key=value lines into fractions of the duration."""
    try:
        for raw in stream:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            # out_time_ms is microseconds too (an old misnomer kept by ffmpeg).
            if key in ("out_time_us", "out_time_ms") and value.isdigit() and duration_s > 0:
                out.put(min(int(value) / 1e6 / duration_s, 1.0))
    finally:
        out.put(None)


def _read_lines(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip())


def _check_outputs(work: Path, ladder: list[RenditionProfile]) -> None:
    expected = [MASTER_NAME, DOWNLOAD_NAME, POSTER_NAME, *(f"{p.key}.m3u8" for p in ladder)]
    missing = [name for name in expected if not (work / name).is_file()]
    if missing:
        raise TranscodeFailed(_l("The video could not be transcoded."),
                              f"missing outputs: {', '.join(missing)}")


def _remove_leftovers(out_dir: Path) -> None:
    """Delete what runs killed before they could clean up left beside ``out_dir``.

    The job lease guarantees one transcode per video at a time, so any such
    directory belongs to a dead run.
    """
    if out_dir.parent.is_dir():
        for pattern in (f".{out_dir.name}.partial-*", f".{out_dir.name}.old-*"):
            for stale in out_dir.parent.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)


def _move_into_place(work: Path, out_dir: Path) -> None:
    """Rename the finished directory to ``out_dir``, replacing an older transcode if any."""
    if not out_dir.exists():
        os.rename(work, out_dir)
        return
    old = out_dir.parent / f".{out_dir.name}.old-{secrets.token_hex(4)}"
    os.rename(out_dir, old)
    os.rename(work, out_dir)
    shutil.rmtree(old, ignore_errors=True)
