"""Video benchmark: the transcode pipeline against hand-written ffmpeg, and watch reports
against a bare Flask endpoint.

On a generated 720p clip (lavfi testsrc2 + sine, 60 s by default) it times

* ``transcode()``: the job's code, with its probe-forced demuxer and progress parsing;
* the same ladder, MP4 and poster written by hand as one ffmpeg command
  (goal: ratio <= 1.10);
* one ffmpeg process per output (240p, 360p, 720p HLS, the MP4, the poster),
  run one after the other (goal: ratio < 1).

Runs are interleaved; the best of ``--repeat`` runs is compared, since on a
shared machine the slower runs measure the neighbours. The ffmpeg processes'
CPU time is printed beside the wall time: it hardly depends on the neighbours.

Then it serves Yonten with gunicorn (2 sync workers, SQLite) and sends watch
reports from many enrolled learners with ``wrk``; a bare Flask endpoint that
only answers JSON is served and loaded the same way (goal: ratio >= 0.5).

The reports a playing video sends are heartbeats (every ten seconds, from every
learner watching): each shows its page's watch pass and is spooled, so that is
the ratio measured against the goal. They come from enough learners that none
sends two within the spool's two-second floor (a refused one would be counted
as an error). Printed beside it, for what they say about the rest of the
design: the reports a learner causes (play, pause, end, leaving), which are
signed-in form posts merged at once; the same signed-in, CSRF-checked POST
doing nothing (the framework's share of any such report); and how fast one
worker folds the spooled heartbeats into the watch records, which is what
bounds how many learners can watch at once.

    .venv/bin/python bench/video_bench.py [--seconds 60] [--repeat 3] [--skip-transcode]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
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


# --- watch reports under gunicorn ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
LEARNERS = 50
#: Learners sending heartbeats: at a few thousand a second, each comes round again only after
#: the spool's two-second floor.
BEAT_LEARNERS = 20_000
BARE_APP = """
from flask import Flask, request

app = Flask(__name__)


@app.post("/report")
def report():
    request.form  # read the body, as the real endpoint does
    return {"credited_s": 0.0, "watched_s": 0.0, "percent": 0, "complete": False}
"""
#: Yonten with an endpoint that does only what every signed-in form POST does.
SIGNED_IN_APP = """
from flask import request
from wsgi import app
from lms.core.access import login_required


@login_required
def signed_in():
    request.form
    return {"credited_s": 0.0, "watched_s": 0.0, "percent": 0, "complete": False}


app.add_url_rule("/bench/signed-in", view_func=signed_in, methods=["POST"])
"""
WRK_SCRIPT = """
local requests = {}
local i = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines(args[1]) do
    local path, cookie, body = line:match("([^\\t]*)\\t([^\\t]*)\\t(.*)")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
  end
  -- each thread starts half-way round from the other: one learner is not sent twice at once
  i = (id or 0) * math.floor(#requests / 2)
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
                 + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %f %d %d\\n",
    summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_site(instance: Path) -> tuple[list[tuple[str, str, str]],
                                         list[tuple[str, str, str]]]:
    """A migrated SQLite site: a course whose lesson plays a ready video, learners enrolled.

    Returns, per learner, the report path, their session cookie and a report body; then,
    for many more learners, the heartbeat path, no cookie and a heartbeat body with the
    pass their lesson page would carry.
    """
    from urllib.parse import quote

    from alembic import command
    from sqlalchemy import insert, select

    from lms import create_app
    from lms.cli import alembic_config
    from lms.courses import operations as courses
    from lms.courses.models import Enrolment, SkillLevel, TrainingType
    from lms.extensions import db
    from lms.users.models import Institution, InstitutionKind, Role, User
    from lms.users.operations import create_user
    from lms.video import operations as videos
    from lms.video.models import Video, VideoState
    from lms.video.spool import sign_pass

    url = f"sqlite:///{instance / 'yonten.db'}"
    command.upgrade(alembic_config(url), "heads")
    app = create_app({"INSTANCE_DIR": str(instance), "DATABASE_URL": url,
                      "MEDIA_ROOT": str(instance / "media"), "SECRET_KEY": "bench",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "JOB_QUEUE": "memory",
                      "DEFAULT_LOCALE": "en"})
    rows = []
    with app.app_context():
        institution = Institution(code="BENCH", name_en="Bench school", prefecture="540100",
                                  kind=InstitutionKind.VOCATIONAL_SCHOOL)
        db.session.add(institution)
        admin = create_user(real_name="Admin", contact="admin@bench.example", password="x" * 12,
                            locale="en", role=Role.REGIONAL_ADMIN)
        course = courses.save_course(
            admin, None, institution=institution, code="BENCH-1", title_en="Bench",
            occupation_code="6-01-02-01", skill_level=SkillLevel.LEVEL5,
            training_type=TrainingType.EMPLOYMENT, nominal_hours=1)
        section = courses.save_section(admin, course, None, title_en="Part 1")
        lesson = courses.save_lesson(admin, section, None, kind="video", title_en="Watch",
                                     credit_hours=1, required=True, is_published=True)
        video = Video(institution_id=institution.id, title="Bench", filename="bench.mp4",
                      state=VideoState.READY, duration_s=3600.0, renditions_key="videos/b/hls",
                      renditions=[{"key": "240p", "width": 426, "height": 240,
                                   "bandwidth": 364000}])
        db.session.add(video)
        db.session.flush()
        videos.attach_video(admin, lesson, video)
        courses.publish_course(admin, course)
        learners = [create_user(real_name=f"Learner {n}", contact=f"l{n}@bench.example",
                                password="x" * 12, locale="en") for n in range(LEARNERS)]
        for learner in learners:
            courses.enrol(learner, course)
        db.session.commit()
        # The heartbeat senders, inserted in bulk (a password hash each would take minutes).
        template = learners[0]
        db.session.execute(insert(User), [
            {"real_name": f"Watcher {n}", "email": f"w{n}@bench.example",
             "password_hash": template.password_hash, "locale": "en", "role": Role.LEARNER}
            for n in range(BEAT_LEARNERS)])
        watchers = db.session.scalars(select(User).where(User.email.like("w%@bench.example"))
                                      ).all()
        db.session.execute(insert(Enrolment), [{"user_id": w.id, "course_id": course.id}
                                               for w in watchers])
        db.session.commit()
        beat_path = f"/courses/{course.id}/lessons/{lesson.id}/video/heartbeat"
        with app.test_request_context():
            beats = [(beat_path, "", f"pass={quote(sign_pass(w, course.id, lesson.id, video.id))}"
                      "&segments=%5B%5B0%2C5%5D%5D&position=5") for w in watchers]
        path = f"/courses/{course.id}/lessons/{lesson.id}/video/watch"
        page = f"/courses/{course.id}/lessons/{lesson.id}"
        session_ids = [learner.get_id() for learner in learners]
    # Each learner's page in a request of its own (outside the set-up's app context, whose
    # ``g`` would hand every learner the first one's CSRF token).
    for session_id in session_ids:
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = session_id, True
        html = client.get(page).get_data(as_text=True)
        token = re.search(r'data-csrf="([^"]+)"', html).group(1)
        cookie = f"yonten_session={client.get_cookie('yonten_session').value}"
        body = f"csrf_token={token}&segments=%5B%5B0%2C5%5D%5D&position=5"
        rows.append((path, cookie, body))
    return rows, beats


def serve(module: str, chdir: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """gunicorn with 2 sync workers, as both contenders are served."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir",
         str(chdir), "--log-level", "warning", module], env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(1)  # let both workers boot
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"gunicorn did not start {module}")


def load(port: int, requests: Path, script: Path, seconds: int) -> tuple[float, int, int]:
    """Requests per second wrk reaches, with the number sent and the errors."""
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "-s", str(script),
         f"http://127.0.0.1:{port}", "--", str(requests)],
        capture_output=True, text=True, check=True)
    rate, sent, errors = re.search(r"RESULT (\S+) (\d+) (\d+)", done.stdout).groups()
    return float(rate), int(sent), int(errors)


def fold_rate(instance: Path) -> tuple[int, float]:
    """Fold what the heartbeat run left in the spool, in this process as one worker would:
    the number of heartbeats and the seconds it took."""
    from lms import create_app
    from lms.video.spool import spool_of
    from lms.video.tasks import fold_spool

    app = create_app({"INSTANCE_DIR": str(instance),
                      "DATABASE_URL": f"sqlite:///{instance / 'yonten.db'}",
                      "MEDIA_ROOT": str(instance / "media"), "SECRET_KEY": "bench",
                      "JOB_QUEUE": "memory", "REDIS_URL": ""})
    with app.app_context():
        waiting = spool_of(app).pending()
        started = time.perf_counter()
        folded = fold_spool()
        elapsed = time.perf_counter() - started
    assert folded == waiting, (folded, waiting)
    return folded, elapsed


def watch_ratio(seconds: int) -> tuple[str, float, str]:
    """Heartbeat throughput under gunicorn on SQLite ÷ a bare Flask endpoint."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed for the watch-report benchmark (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        work = Path(tmp)
        instance = work / "instance"
        instance.mkdir()
        rows, beats = prepare_site(instance)
        script = work / "report.lua"
        script.write_text(WRK_SCRIPT)
        (work / "bare.py").write_text(BARE_APP)
        (work / "signed_in_app.py").write_text(SIGNED_IN_APP)
        loads = {
            "heartbeats": ("wsgi:app", ROOT, beats),
            "bare Flask": ("bare:app", work, [("/report", c, b) for _, c, b in rows]),
            "direct reports": ("wsgi:app", ROOT, rows),
            "signed-in POST": ("signed_in_app:app", work,
                               [("/bench/signed-in", c, b) for _, c, b in rows]),
        }
        env = {**os.environ, "LMS_INSTANCE_DIR": str(instance), "LMS_SECRET_KEY": "bench",
               "LMS_DATABASE_URL": f"sqlite:///{instance / 'yonten.db'}",
               "LMS_MEDIA_ROOT": str(instance / "media"), "LMS_REDIS_URL": "",
               "LMS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        results, folded = {}, (0, 0.0)
        for name, (module, chdir, reqs) in loads.items():
            requests = work / f"{name.replace(' ', '-')}.tsv"
            requests.write_text("".join(f"{p}\t{c}\t{b}\n" for p, c, b in reqs))
            port = free_port()
            server = serve(module, chdir, port, env)
            try:
                if name != "heartbeats":  # a warm-up would send heartbeats too soon again
                    load(port, requests, script, 2)
                results[name] = load(port, requests, script, seconds)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            if name == "heartbeats":
                folded = fold_rate(instance)
    bare = results["bare Flask"][0]
    print(f"watch reports, gunicorn -w 2, SQLite, wrk -c 16 for {seconds} s, "
          f"{os.cpu_count()} CPUs ({len(beats)} learners sending heartbeats, {len(rows)} "
          "sending direct reports)")
    for name, (rate, sent, errors) in results.items():
        print(f"  {name:<15} {rate:8.1f} requests/s  ({sent} sent, {errors} errors)"
              f"  ratio {rate / bare:.3f}")
    count, elapsed = folded
    print(f"  folding the spool: {count} heartbeats in {elapsed:.1f} s, "
          f"{count / elapsed:.0f} a second by one worker (at one heartbeat every ten seconds, "
          f"enough for {10 * count / elapsed:,.0f} learners watching at once; each learner "
          "here is folded for the first time, which creates their clock and records)")
    errors = results["heartbeats"][2]
    if errors:
        print(f"  warning: {errors} heartbeats were refused; the ratio counts only answers")
    ratio = results["heartbeats"][0] / bare
    return "heartbeats (watch reports while playing) / bare Flask endpoint (requests/s)", \
        ratio, ">= 0.5"


def transcode_ratios(seconds: int, repeat: int) -> list[tuple[str, float, str]]:
    """Time the three transcode contenders; the two ratios against ``transcode()``."""
    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        work = Path(tmp)
        src = work / "clip.mp4"
        make_clip(src, seconds)
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
        for _ in range(repeat):
            for name, run in contenders.items():
                runs[name].append(timed(run, work))

    wall = {name: min(w for w, _ in values) for name, values in runs.items()}
    cpu = {name: min(c for _, c in values) for name, values in runs.items()}
    print(f"{seconds} s 720p clip, preset {PRESET}, {os.cpu_count()} CPUs, "
          f"best of {repeat} runs")
    for name, values in runs.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in values)
        print(f"  {name:<25} wall {wall[name]:6.2f} s  cpu {cpu[name]:6.2f} s  (walls: {walls})")
    ratios = []
    for other, goal in (("one hand-written command", "<= 1.10"), ("one process per output", "< 1")):
        ratio = wall["transcode()"] / wall[other]
        print(f"  cpu ratio against {other}: {cpu['transcode()'] / cpu[other]:.3f}")
        ratios.append((f"transcode() / {other} (wall)", ratio, goal))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--watch-seconds", type=int, default=10,
                        help="duration of each wrk run for the watch-report ratio")
    parser.add_argument("--skip-transcode", action="store_true")
    args = parser.parse_args()

    ratios = [] if args.skip_transcode else transcode_ratios(args.seconds, args.repeat)
    ratios.append(watch_ratio(args.watch_seconds))
    print("ratios:")
    for name, ratio, goal in ratios:
        print(f"  {name}: {ratio:.3f} (goal {goal})")


if __name__ == "__main__":
    main()
