"""One ffmpeg run turns an accepted video into an HLS ladder, a download MP4 and a poster."""

import re
import shutil
from pathlib import Path

import ffmpeg
import pytest

from lms.video.probe import ProbeLimits, ProbeResult, probe_video
from lms.video.renditions import RenditionProfile, build_profiles, download_rung, ladder_for
from lms.video.transcode import TranscodeFailed, transcode

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import generated_media  # noqa: F401

pytestmark = pytest.mark.no_database


def source(width: int, height: int) -> ProbeResult:
    return ProbeResult(container="mp4", duration_s=60, width=width, height=height, fps=30,
                       video_codec="h264", audio_codec="aac", audio_channels=2,
                       bit_rate=4_000_000, size_bytes=30_000_000)


def sizes(probe: ProbeResult, profiles=None) -> list[tuple[str, int, int]]:
    return [(p.key, *p.frame_size(probe.width, probe.height)) for p in ladder_for(probe, profiles)]


# choosing the ladder


def test_1080p_source_gets_every_rung():
    assert sizes(source(1920, 1080)) == [("240p", 426, 240), ("360p", 640, 360),
                                         ("720p", 1280, 720)]


def test_rungs_taller_than_the_source_are_left_out():
    assert sizes(source(640, 480)) == [("240p", 320, 240), ("360p", 480, 360)]
    assert sizes(source(641, 361)) == [("240p", 426, 240), ("360p", 638, 360)]


def test_source_smaller_than_every_rung_keeps_its_own_size():
    assert sizes(source(160, 120)) == [("240p", 160, 120)]
    assert download_rung(ladder_for(source(160, 120))).key == "240p"


def test_upright_phone_video_gets_upright_rungs():
    assert sizes(source(1080, 1920)) == [("240p", 240, 426), ("360p", 360, 640),
                                         ("720p", 720, 1280)]


def test_very_wide_picture_fits_the_box_width():
    assert sizes(source(2560, 720))[0] == ("240p", 426, 118)


def test_config_can_retune_add_and_remove_rungs():
    profiles = build_profiles({
        "240p": {"video_kbps": 200, "max_video_kbps": 250},
        "480p": {"width": 854, "height": 480, "video_kbps": 900, "max_video_kbps": 1100,
                 "audio_kbps": 96},
        "720p": None,
    })
    assert [p.key for p in ladder_for(source(1920, 1080), profiles)] == ["240p", "360p", "480p"]
    assert profiles["240p"].max_video_kbps == 250
    assert profiles["360p"].audio_kbps == 96


@pytest.mark.parametrize("overrides", [
    {"240p": {"width": 427}},
    {"240p": {"max_video_kbps": 100}},
    {"240p": {"crf": 23}},
    {"1080p": {"width": 1920}},
])
def test_config_mistakes_in_profiles_are_refused(overrides):
    with pytest.raises(ValueError):
        build_profiles(overrides)


def test_profile_must_be_landscape_even_and_positive():
    with pytest.raises(ValueError):
        RenditionProfile("x", 240, 426, 100, 100, 64)


# transcoding


def run_transcode(source: Path, out_dir: Path, **kwargs):
    progress: list[float] = []
    kwargs.setdefault("timeout_s", 120)
    result = transcode(source, probe_video(source, ProbeLimits()), out_dir,
                       on_progress=progress.append, **kwargs)
    return result, progress


def master_entries(master: Path) -> list[tuple[str, str]]:
    """(RESOLUTION, playlist) for each variant listed in a master playlist."""
    lines = master.read_text().splitlines()
    return [(re.search(r"RESOLUTION=(\d+x\d+)", line).group(1), lines[i + 1])
            for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF")]


def segment_durations(playlist: Path) -> list[float]:
    return [float(m) for m in re.findall(r"#EXTINF:([\d.]+),", playlist.read_text())]


def video_packets(path: Path) -> list[dict]:
    return ffmpeg.probe(str(path), select_streams="v:0",
                        show_entries="packet=pts_time,flags,size")["packets"]


def keyframe_times(playlist: Path) -> list[float]:
    return [round(float(p["pts_time"]), 2) for p in video_packets(playlist) if "K" in p["flags"]]


def frame_size(path: Path) -> tuple[int, int]:
    video = next(s for s in ffmpeg.probe(str(path))["streams"] if s["codec_type"] == "video")
    return video["width"], video["height"]


def top_level_boxes(path: Path) -> list[bytes]:
    data, offset, boxes = path.read_bytes(), 0, []
    while offset < len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        boxes.append(data[offset + 4:offset + 8])
        offset += size
    return boxes


@pytest.fixture(scope="module")
def lesson(media, tmp_path_factory):
    """The 6-second 720p lesson, transcoded once for the checks below."""
    out_dir = tmp_path_factory.mktemp("lesson-720p") / "renditions"
    return run_transcode(media["lesson_720p.mp4"], out_dir)


@pytest.mark.slow
def test_720p_lesson_gets_a_master_playlist_with_three_rungs(lesson):
    result, _ = lesson
    assert master_entries(result.master_playlist) == [
        ("426x240", "240p.m3u8"), ("640x360", "360p.m3u8"), ("1280x720", "720p.m3u8")]
    assert [(r.key, r.width, r.height) for r in result.rungs] == [
        ("240p", 426, 240), ("360p", 640, 360), ("720p", 1280, 720)]


@pytest.mark.slow
def test_every_rung_plays_for_the_whole_lesson_at_its_size(lesson):
    result, _ = lesson
    for rung in result.rungs:
        info = ffmpeg.probe(str(rung.playlist))
        assert float(info["format"]["duration"]) == pytest.approx(6, abs=0.3)
        assert frame_size(rung.playlist) == (rung.width, rung.height)
        assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}


@pytest.mark.slow
def test_segments_last_four_to_six_seconds(lesson):
    result, _ = lesson
    for playlist in result.variant_playlists.values():
        durations = segment_durations(playlist)
        assert all(4 <= d <= 6 for d in durations[:-1])
        assert 0 < durations[-1] <= 6
        assert sum(durations) == pytest.approx(6, abs=0.2)


@pytest.mark.slow
def test_keyframes_fall_at_the_same_instants_in_every_rung(lesson):
    result, _ = lesson
    times = [keyframe_times(p) for p in result.variant_playlists.values()]
    assert times[0] == times[1] == times[2]
    start = times[0][0]
    assert [round(t - start, 2) for t in times[0]] == [0.0, 4.0]


@pytest.mark.slow
def test_240p_video_stays_within_300_kbps(lesson):
    result, _ = lesson
    packets = video_packets(result.variant_playlists["240p"])
    kbps = sum(int(p["size"]) for p in packets) * 8 / 6 / 1000
    assert kbps <= 300


@pytest.mark.slow
def test_download_mp4_is_360p_and_starts_with_its_index(lesson):
    result, _ = lesson
    assert result.download_key == "360p"
    assert frame_size(result.download) == (640, 360)
    boxes = top_level_boxes(result.download)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    assert float(ffmpeg.probe(str(result.download))["format"]["duration"]) == pytest.approx(
        6, abs=0.2)


@pytest.mark.slow
def test_poster_is_a_jpeg_at_the_largest_rung_size(lesson):
    result, _ = lesson
    assert result.poster.read_bytes()[:3] == b"\xff\xd8\xff"
    assert frame_size(result.poster) == (1280, 720)


@pytest.mark.slow
def test_progress_rises_to_one(lesson):
    _, progress = lesson
    assert progress == sorted(progress)
    assert len(progress) >= 2
    assert progress[-1] == 1.0


@pytest.mark.slow
def test_360p_source_is_never_upscaled(media, tmp_path):
    result, _ = run_transcode(media["lesson_360p.mp4"], tmp_path / "out")
    assert master_entries(result.master_playlist) == [
        ("426x240", "240p.m3u8"), ("640x360", "360p.m3u8")]
    assert not (tmp_path / "out" / "720p.m3u8").exists()
    assert frame_size(result.variant_playlists["360p"]) == (640, 360)


@pytest.mark.slow
def test_upright_phone_video_without_sound_keeps_its_orientation(media, tmp_path):
    result, _ = run_transcode(media["portrait_silent.mp4"], tmp_path / "out")
    assert [(r.key, r.width, r.height) for r in result.rungs] == [
        ("240p", 240, 426), ("360p", 360, 640)]
    assert frame_size(result.variant_playlists["240p"]) == (240, 426)
    assert [s["codec_type"] for s in ffmpeg.probe(str(result.download))["streams"]] == ["video"]


@pytest.mark.slow
def test_small_webm_upload_gets_one_rung_and_a_download_of_that_size(media, tmp_path):
    result, _ = run_transcode(media["vp9_opus.webm"], tmp_path / "out")
    assert [(r.key, r.width, r.height) for r in result.rungs] == [("240p", 320, 240)]
    assert result.download_key == "240p"
    assert frame_size(result.download) == (320, 240)
    assert [s["codec_name"] for s in ffmpeg.probe(str(result.download))["streams"]] == [
        "h264", "aac"]


@pytest.mark.slow
def test_configured_profiles_change_the_ladder(media, tmp_path):
    profiles = build_profiles({"720p": None, "240p": {"video_kbps": 150, "max_video_kbps": 200}})
    result, _ = run_transcode(media["lesson_360p.mp4"], tmp_path / "out", profiles=profiles)
    assert [r.key for r in result.rungs] == ["240p", "360p"]
    packets = video_packets(result.variant_playlists["240p"])
    assert sum(int(p["size"]) for p in packets) * 8 / 4 / 1000 <= 200


@pytest.mark.slow
def test_timeout_kills_ffmpeg_and_leaves_no_partial_output(media, tmp_path):
    out_dir = tmp_path / "videos" / "12"
    out_dir.parent.mkdir()
    with pytest.raises(TranscodeFailed) as failed:
        run_transcode(media["lesson_720p.mp4"], out_dir, timeout_s=0.3)
    assert "longer than" in str(failed.value.reason)
    assert list(out_dir.parent.iterdir()) == []


@pytest.mark.slow
def test_ffmpeg_failure_reports_its_error_and_leaves_no_partial_output(media, tmp_path):
    source = tmp_path / "upload-9.mp4"
    shutil.copyfile(media["lesson_360p.mp4"], source)
    probe = probe_video(source, ProbeLimits())
    data = source.read_bytes()
    source.write_bytes(data[:48] + bytes(len(data) - 48))  # damaged after it was accepted
    out_dir = tmp_path / "videos" / "9"
    out_dir.parent.mkdir()
    with pytest.raises(TranscodeFailed) as failed:
        transcode(source, probe, out_dir, on_progress=lambda f: None, timeout_s=60)
    assert failed.value.detail
    assert list(out_dir.parent.iterdir()) == []


@pytest.mark.slow
def test_rerun_replaces_earlier_output_and_clears_a_killed_runs_leftovers(media, tmp_path):
    out_dir = tmp_path / "videos" / "5"
    run_transcode(media["portrait_silent.mp4"], out_dir)
    leftover = tmp_path / "videos" / ".5.partial-deadbeef"
    leftover.mkdir()
    (leftover / "240p_00000.ts").write_bytes(b"half a segment")
    result, _ = run_transcode(media["lesson_360p.mp4"], out_dir)
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["5"]
    assert frame_size(result.download) == (640, 360)
