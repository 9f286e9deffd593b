"""The rendition profiles: one registry of ladder rungs, keyed by the name the database stores.

A profile is a frame box for a landscape picture (portrait sources use it
turned) and the bitrates to encode into it. The registry holds the defaults;
``build_profiles`` applies the ``VIDEO_RENDITIONS`` setting on top, so sizes and
bitrates are configuration, and ``ladder_for`` picks the rungs a source deserves
without ever upscaling it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from lms.video.probe import ProbeResult


@dataclass(frozen=True)
class RenditionProfile:
    """One rung of the HLS ladder."""

    key: str
    #: Frame box for landscape sources (turned for portrait ones); ``height`` is
    #: the rung's "p" number, the shorter side of the picture.
    width: int
    height: int
    #: Target and ceiling of the video bitrate, in kb/s (the ceiling sets the VBV).
    video_kbps: int
    max_video_kbps: int
    audio_kbps: int

    def __post_init__(self) -> None:
        for name in ("width", "height", "video_kbps", "max_video_kbps", "audio_kbps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"rendition {self.key}: {name} must be a positive integer")
        if self.width % 2 or self.height % 2 or self.width < self.height:
            raise ValueError(f"rendition {self.key}: width and height must be even, "
                             "the width the longer")
        if self.max_video_kbps < self.video_kbps:
            raise ValueError(f"rendition {self.key}: max_video_kbps is below video_kbps")

    def frame_size(self, source_width: int, source_height: int) -> tuple[int, int]:
        """The output size for a source: fitted in the box, aspect kept, never enlarged."""
        long_side, short_side = max(source_width, source_height), min(source_width, source_height)
        scale = min(self.height / short_side, 1.0)
        # The box's long side is itself rounded (16:9 at 240 is 426.67), so it
        # decides only for pictures clearly wider than the box.
        if long_side * scale > self.width + 2:
            scale = self.width / long_side
        out_long, out_short = _even(long_side * scale), _even(short_side * scale)
        return (out_long, out_short) if source_width >= source_height else (out_short, out_long)

    @property
    def bandwidth(self) -> int:
        """Peak bits per second of video and audio together, as a player budgets it."""
        return (self.max_video_kbps + self.audio_kbps) * 1000


def _even(value: float) -> int:
    # Down to an even number, as 4:2:0 chroma needs; the epsilon stops a float
    # error such as 359.99999 from costing two pixels.
    return max(2, math.floor(value / 2 + 1e-6) * 2)


#: The default ladder. 240p stays within 300 kb/s of video for phones on weak networks.
RENDITIONS: dict[str, RenditionProfile] = {}

#: The rung whose size the downloadable MP4 takes, when the source is big enough for it.
DOWNLOAD_KEY = "360p"


def register(profile: RenditionProfile) -> RenditionProfile:
    """Add a profile to the default registry under its key."""
    RENDITIONS[profile.key] = profile
    return profile


register(RenditionProfile("240p", 426, 240, video_kbps=250, max_video_kbps=300, audio_kbps=64))
register(RenditionProfile("360p", 640, 360, video_kbps=550, max_video_kbps=700, audio_kbps=96))
register(RenditionProfile("720p", 1280, 720, video_kbps=1800, max_video_kbps=2400,
                          audio_kbps=128))


def build_profiles(
    overrides: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> dict[str, RenditionProfile]:
    """The registry with a config mapping applied: change fields, add rungs, or drop with None."""
    profiles = dict(RENDITIONS)
    names = {f.name for f in fields(RenditionProfile)} - {"key"}
    for key, changes in (overrides or {}).items():
        if changes is None:
            profiles.pop(key, None)
            continue
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"rendition {key}: unknown settings {sorted(unknown)}")
        if key in profiles:
            profiles[key] = replace(profiles[key], **changes)
        elif names <= set(changes):
            profiles[key] = RenditionProfile(key=key, **changes)
        else:
            raise ValueError(f"rendition {key}: a new rung needs {sorted(names)}")
    if not profiles:
        raise ValueError("at least one rendition is needed")
    return profiles


def ladder_for(
    probe: ProbeResult, profiles: Mapping[str, RenditionProfile] | None = None,
) -> list[RenditionProfile]:
    """The rungs for a source, smallest first: none taller than the source, never none at all.

    A rung fits when its "p" number is at most the source's shorter side. A
    source smaller than every rung gets the smallest rung, at its own size.
    Rungs that would come out at the same size as a smaller one are left out.
    """
    candidates = sorted((profiles or RENDITIONS).values(), key=lambda p: (p.height, p.width))
    short_side = min(probe.width, probe.height)
    fitting = [p for p in candidates if p.height <= short_side] or candidates[:1]
    ladder: list[RenditionProfile] = []
    sizes: set[tuple[int, int]] = set()
    for profile in fitting:
        size = profile.frame_size(probe.width, probe.height)
        if size not in sizes:
            sizes.add(size)
            ladder.append(profile)
    return ladder


def download_rung(ladder: list[RenditionProfile], key: str = DOWNLOAD_KEY) -> RenditionProfile:
    """The rung the downloadable MP4 copies: ``key`` if the ladder has it, else the smallest."""
    return next((p for p in ladder if p.key == key), ladder[0])
