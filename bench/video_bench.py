"""Transcode benchmark: our one-process pipeline against hand-written ffmpeg commands.

On a generated 720p clip (lavfi testsrc2 + sine, 60 s by default) it times

* ``transcode()``: the job's code, with its probe-forced demuxer and progress parsing;
* the same ladder, MP4 and poster written by hand as one ffmpeg command
  (goal: ratio <= 1.10);
* one ffmpeg process per output (240p, 360p, 720p HLS, the MP4, the poster),
  run one after the other (goal: ratio < 1).

Runs are interleaved; the best of ``--repeat`` runs is compared, since on a
shared machine the slower runs measure the neighbours. The ffmpeg processes'
CPU time is printed beside the wall time: it hardly depends on the neighbours.

    .venv/bin/python bench/video_bench.py [--seconds 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ffmpeg

from lms.video.probe import ProbeLimits, ProbeResult, probe_video
from lms.video.transcode import transcode

PRESET = "veryfast"
HEAD = shlex.split("ffmpeg -hide_banner -nostdin -loglevel error -y")
INPUT = shlex.split("-f mp4 -protocol_whitelist file -i")
X264 = shlex.split(f"-c:v libx264 -preset {PRESET} -pix_fmt yuv420p -sc_threshold 0")
HLS = shlex.split("-f hls -hls_time 4 -hls_playlist_type vod -hls_flags independent_segments "
                  "-hls_segment_type mpegts")
MP4_360P = shlex.split("-b:v 550k -maxrate:v 700k -bufsize:v 1400k -c:a aac -ac 1 -b:a 96k")
RUNGS = [  # name, width, height, video kb/s, max kb/s, audio kb/s
    ("240p", 426, 240, 250, 300, 64),
    ("360p", 640, 360, 550, 700, 96),
    ("720p", 1280, 720, 1800, 2400, 128),
]


def make_clip(path: Path, seconds: int) -> None:
    video = ffmpeg.input(f"testsrc2=size=1280x720:rate=30:duration={seconds}", f="lavfi")
    audio = ffmpeg.input(f"sine=frequency=440:sample_rate=48000:duration={seconds}", f="lavfi")
    options = {"c:v": "libx264", "preset": "fast", "crf": 20, "pix_fmt": "yuv420p", "c:a": "aac"}
    ffmpeg.output(video, audio, str(path), **options).run(quiet=True, overwrite_output=True)


def keyframes(probe: ProbeResult) -> list[str]:
    gop = str(round(probe.fps * 4))
    return ["-g", gop, "-keyint_min", gop, "-force_key_frames", "expr:gte(t,n_forced*4)"]


def one_command(src: Path, out: Path, probe: ProbeResult) -> list[list[str]]:
    """The ladder, MP4 and poster as a person would write them: one command."""
    poster_at = round(probe.duration_s * 0.1, 3)
    graph = (
        "[0:v:0]split=4[a][b][c][p];"
        "[a]scale=426:240,setsar=1[v240];"
        "[b]scale=640:360,setsar=1,split=2[v360][dl];"
        "[c]scale=1280:720,setsar=1[v720];"
        f"[p]trim=start={poster_at}:duration=1,scale=1280:720,setsar=1[poster]"
    )
    rates = []
    for i, (_, _, _, kbps, max_kbps, audio_kbps) in enumerate(RUNGS):
        rates += shlex.split(f"-b:v:{i} {kbps}k -maxrate:v:{i} {max_kbps}k "
                             f"-bufsize:v:{i} {max_kbps * 2}k -b:a:{i} {audio_kbps}k")
    streams = shlex.split("-map [v240] -map 0:a:0 -map [v360] -map 0:a:0 -map [v720] -map 0:a:0")
    return [[
        *HEAD, *INPUT, f"file:{src}", "-filter_complex", graph,
        *streams, *X264, *keyframes(probe), "-c:a", "aac", "-ac", "1", *rates, *HLS,
        "-hls_segment_filename", f"{out}/%v_%05d.ts", "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,a:0,name:240p v:1,a:1,name:360p v:2,a:2,name:720p",
        f"{out}/%v.m3u8",
        "-map", "[dl]", "-map", "0:a:0", *X264, *keyframes(probe), *MP4_360P,
        "-movflags", "+faststart", f"{out}/download.mp4",
        "-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "3", f"{out}/poster.jpg",
    ]]


def one_process_per_output(src: Path, out: Path, probe: ProbeResult) -> list[list[str]]:
    """The same outputs, each from its own ffmpeg run: the source is decoded five times."""
    source = [*HEAD, *INPUT, f"file:{src}", "-map", "0:v:0", "-map", "0:a:0"]
    commands = []
    for name, width, height, kbps, max_kbps, audio_kbps in RUNGS:
        rates = shlex.split(f"-b:v {kbps}k -maxrate:v {max_kbps}k -bufsize:v {max_kbps * 2}k "
                            f"-c:a aac -ac 1 -b:a {audio_kbps}k")
        commands.append([
            *source, "-vf", f"scale={width}:{height},setsar=1", *X264, *keyframes(probe),
            *rates, *HLS, "-hls_segment_filename", f"{out}/{name}_%05d.ts", f"{out}/{name}.m3u8",
        ])
    commands.append([
        *source, "-vf", "scale=640:360,setsar=1", *X264, *keyframes(probe), *MP4_360P,
        "-movflags", "+faststart", f"{out}/download.mp4",
    ])
    commands.append([
        *HEAD, "-ss", str(round(probe.duration_s * 0.1, 3)), *INPUT, f"file:{src}",
        "-frames:v", "1", "-vf", "scale=1280:720,setsar=1", "-q:v", "3", f"{out}/poster.jpg",
    ])
    return commands


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run: Callable[[Path], None], work: Path) -> tuple[float, float]:
    """Wall time and the ffmpeg processes' CPU time of one run."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    cpu, started = children_cpu_s(), time.perf_counter()
    run(out)
    elapsed, cpu = time.perf_counter() - started, children_cpu_s() - cpu
    shutil.rmtree(out, ignore_errors=True)
    return elapsed, cpu


def shell(commands: list[list[str]]) -> None:
    for command in commands:
        subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        work = Path(tmp)
        src = work / "clip.mp4"
        make_clip(src, args.seconds)
        probe = probe_video(src, ProbeLimits())

        def ours(out: Path) -> None:
            transcode(src, probe, out, on_progress=lambda _: None, timeout_s=3600, preset=PRESET)

        def by_hand(out: Path) -> None:
            out.mkdir()
            shell(one_command(src, out, probe))

        def per_output(out: Path) -> None:
            out.mkdir()
            shell(one_process_per_output(src, out, probe))

        contenders = {"transcode()": ours, "one hand-written command": by_hand,
                      "one process per output": per_output}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(args.repeat):
            for name, run in contenders.items():
                runs[name].append(timed(run, work))

    wall = {name: min(w for w, _ in values) for name, values in runs.items()}
    cpu = {name: min(c for _, c in values) for name, values in runs.items()}
    print(f"{args.seconds} s 720p clip, preset {PRESET}, {os.cpu_count()} CPUs, "
          f"best of {args.repeat} runs")
    for name, values in runs.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in values)
        print(f"  {name:<25} wall {wall[name]:6.2f} s  cpu {cpu[name]:6.2f} s  (walls: {walls})")
    for other, goal in (("one hand-written command", "<= 1.10"), ("one process per output", "< 1")):
        print(f"transcode() / {other}: wall {wall['transcode()'] / wall[other]:.3f} "
              f"(goal {goal}), cpu {cpu['transcode()'] / cpu[other]:.3f}")


if __name__ == "__main__":
    main()
