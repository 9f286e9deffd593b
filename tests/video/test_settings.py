"""The video settings: checked at start-up, and read as the probe and the ladder use them."""

from __future__ import annotations

import pytest

from lms.config import ConfigError, load_config
from lms.video import util


def test_a_ladder_or_preset_that_cannot_work_stops_the_start(tmp_path):
    with pytest.raises(ConfigError) as stopped:
        load_config(tmp_path, environ={"LMS_VIDEO_RENDITIONS": '{"240p": {"width": 427}}',
                                       "LMS_VIDEO_X264_PRESET": "turbo",
                                       "LMS_VIDEO_COMPLETION_THRESHOLD": "1.5"})
    message = str(stopped.value)
    assert "LMS_VIDEO_RENDITIONS" in message and "even" in message
    assert "LMS_VIDEO_X264_PRESET" in message and "LMS_VIDEO_COMPLETION_THRESHOLD" in message


def test_the_probe_limits_and_the_ladder_come_from_the_settings(app):
    app.config.update(VIDEO_MAX_FPS=30.0, UPLOAD_MAX_BYTES=2**30,
                      VIDEO_RENDITIONS={"720p": None, "240p": {"video_kbps": 200}})
    limits = util.probe_limits()
    assert (limits.max_fps, limits.max_bytes, limits.max_duration_s) == (30.0, 2**30, 10800.0)
    ladder = util.rendition_profiles()
    assert sorted(ladder) == ["240p", "360p"] and ladder["240p"].video_kbps == 200
