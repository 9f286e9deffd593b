"""Catalogue and lesson page throughput against a bare Flask endpoint, and page weight.

With 2,000 published courses and 40,000 lessons in SQLite, the catalogue page
and a lesson page are served by gunicorn (2 sync workers), exactly as a bare
Flask "hello" endpoint is served in the same run; the script prints each
page's requests per second divided by the bare endpoint's (goal: at least
0.25) and the gzipped bytes each page transfers with its CSS and JavaScript
(goal: under 30 KB).

The learner signs in and opens the lesson once, as a browser does, and the load
generator then repeats that view with the session the browser holds: after the
first view, Yonten shows the page it kept for the learner while nothing on it has
changed. For reference the script also prints the same page rendered for every
view (``LMS_PAGE_CACHE_MB=0``, what a learner's first view of a lesson costs), and
Yonten with one extra endpoint that a signed-in learner opens and that renders
nothing: the framework's share of any page that loads its signed-in user (session,
login, headers), which a kept lesson page, checked with one query, does not.

    python bench/courses_bench.py [--courses 2000] [--lessons-per-course 20] [--seconds 10]

Uses wrk (Debian package ``wrk``) to generate load when it is installed, else
a Python client (slower, so the ratios are then conservative).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_APP = '''
from flask import Flask
app = Flask(__name__)

@app.get("/")
def hello():
    return "hello"
'''

#: Yonten with an endpoint that does only what every signed-in request does.
SIGNED_IN_APP = '''
from wsgi import app
from lms.core.access import login_required


@login_required
def signed_in():
    return "ok"


app.add_url_rule("/bench/signed-in", view_func=signed_in)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_data(instance: Path, courses: int, per_course: int) -> dict:
    """Fill a fresh database quickly with bulk inserts; return ids the bench needs."""
    os.environ["LMS_INSTANCE_DIR"] = str(instance)
    os.environ["LMS_MEDIA_ROOT"] = str(instance / "media")
    from alembic import command
    from sqlalchemy import insert

    from lms import create_app
    from lms.cli import alembic_config
    from lms.core.db import utcnow
    from lms.courses import operations
    from lms.courses.models import Course, Lesson, Section
    from lms.extensions import db
    from lms.users.models import Institution, InstitutionKind, Role
    from lms.users.operations import create_user

    app = create_app()
    with app.app_context():
        command.upgrade(alembic_config(app.config["DATABASE_URL"]), "heads")
        institutions = []
        for i in range(20):
            inst = Institution(code=f"B-{i}", name_bo=f"སྦྱོང་བརྡར་ལས་ཁུངས་ {i}",
                               name_zh=f"培训机构{i}", name_en=f"Institution {i}",
                               kind=InstitutionKind.PUBLIC_TRAINING_BASE,
                               prefecture=["540100", "540200", "540300"][i % 3],
                               subsidy_approved=True)
            db.session.add(inst)
            institutions.append(inst)
        db.session.flush()
        now = utcnow()
        body = ("ཐང་ཀ་ནི་བོད་ཀྱི་སྲོལ་རྒྱུན་རི་མོའི་སྒྱུ་རྩལ་ཡིན། 唐卡是藏族传统绘画艺术。 "
                "Stretch the canvas and burnish it. ") * 20
        course_rows = [dict(
            code=f"BENCH-{n}", institution_id=institutions[n % 20].id,
            title_bo=f"ཐང་ཀ་འབྲི་རྒྱུ། {n}", title_zh=f"唐卡绘画 {n}", title_en=f"Thangka {n}",
            summary_zh="学习唐卡绘画的基础。" * 5, occupation_code="6-01-02-01",
            occupation_name_zh="唐卡画师", skill_level="level5", training_type="employment",
            nominal_hours=Decimal("48"), subsidised=n % 2 == 0, sequential=False,
            status="published", published_at=now, created_at=now, updated_at=now)
            for n in range(courses)]
        db.session.execute(insert(Course), course_rows)
        course_ids = list(db.session.scalars(Course.__table__.select().with_only_columns(
            Course.id).order_by(Course.id)))
        db.session.execute(insert(Section), [dict(course_id=cid, position=0,
                                                  title_en="Part 1") for cid in course_ids])
        sections = dict(db.session.execute(Section.__table__.select().with_only_columns(
            Section.course_id, Section.id)).all())
        lesson_rows = [dict(course_id=cid, section_id=sections[cid], section_position=0,
                            position=p, kind="text", title_bo=f"སློབ་ཁྲིད་ {p}",
                            title_en=f"Lesson {p}", body_bo=body, credit_hours=Decimal("1"),
                            required=True, is_published=True, min_reading_seconds=60,
                            created_at=now, updated_at=now)
                       for cid in course_ids for p in range(per_course)]
        for start in range(0, len(lesson_rows), 5000):
            db.session.execute(insert(Lesson), lesson_rows[start:start + 5000])
        learner = create_user(real_name="Bench learner", contact="bench@yonten.example",
                              password="bench-password", locale="bo", role=Role.LEARNER)
        course = db.session.get(Course, course_ids[len(course_ids) // 2])
        operations.enrol(learner, course)
        lesson_id = course.sections[0].lessons[0].id
        db.session.commit()
        return {"course_id": course.id, "lesson_id": lesson_id}


class Server:
    """gunicorn with two sync workers serving ``app_spec`` on a free port."""

    def __init__(self, app_spec: str, env: dict, cwd: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
             f"127.0.0.1:{self.port}", "--log-level", "warning", app_spec],
            env=env, cwd=cwd)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{app_spec} did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def measure_rps(port: int, path: str, seconds: int, cookie: str = "") -> float:
    """Requests per second for ``path``; wrk when available, else Python threads."""
    url = f"http://127.0.0.1:{port}{path}"
    if shutil.which("wrk"):
        cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url]
        if cookie:
            cmd[1:1] = ["-H", f"Cookie: {cookie}"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count = [0]
    stop = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            conn.getresponse().read()
            conn.close()
            count[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / seconds


def fetch(port: int, path: str, cookie: str = "") -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    data = response.read()
    headers = dict(response.getheaders())
    conn.close()
    return response.status, data, headers


def gzipped_weight(port: int, path: str, cookie: str) -> int:
    """Bytes of the page and the CSS and JavaScript it links, each gzipped (level 6)."""
    status, html, _ = fetch(port, path, cookie)
    assert status == 200, (path, status)
    total = len(gzip.compress(html, 6))
    for ref in re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html):
        total += len(gzip.compress(fetch(port, ref.decode())[1], 6))
    return total


def login_cookie(port: int, first_page: str = "") -> str:
    status, html, headers = fetch(port, "/account/login")
    session = re.search(r"yonten_session=([^;]+)", headers.get("Set-Cookie", "")).group(1)
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = f"csrf_token={token.decode()}&contact=bench%40yonten.example&password=bench-password"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/account/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"yonten_session={session}"})
    response = conn.getresponse()
    response.read()
    signed_in = re.search(r"yonten_session=([^;]+)", response.getheader("Set-Cookie")).group(1)
    cookie = f"yonten_session={signed_in}"
    if first_page:
        # The session as a browser holds it after its first page: signing in gives a new
        # form secret, which the first page that shows a form sets.
        _status, _html, headers = fetch(port, first_page, cookie)
        found = re.search(r"yonten_session=([^;]+)", headers.get("Set-Cookie", ""))
        if found:
            cookie = f"yonten_session={found.group(1)}"
    return cookie


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=2000)
    parser.add_argument("--lessons-per-course", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yonten-bench-") as tmp:
        instance = Path(tmp)
        print(f"Loading {args.courses} courses × {args.lessons_per_course} lessons …")
        ids = load_data(instance, args.courses, args.lessons_per_course)
        env = {**os.environ, "LMS_INSTANCE_DIR": str(instance),
               "LMS_MEDIA_ROOT": str(instance / "media"), "PYTHONPATH": str(ROOT)}
        (instance / "bare_app.py").write_text(BARE_APP)
        bare = Server("bare_app:app", {**env, "PYTHONPATH": str(instance)}, instance)
        try:
            bare_rps = measure_rps(bare.port, "/", args.seconds)
        finally:
            bare.stop()
        lesson_path = f"/courses/{ids['course_id']}/lessons/{ids['lesson_id']}"
        lms = Server("wsgi:app", env, ROOT)
        try:
            cookie = login_cookie(lms.port, lesson_path)
            catalogue_rps = measure_rps(lms.port, "/courses/", args.seconds)
            lesson_rps = measure_rps(lms.port, lesson_path, args.seconds, cookie)
            catalogue_bytes = gzipped_weight(lms.port, "/courses/", "")
            lesson_bytes = gzipped_weight(lms.port, lesson_path, cookie)
        finally:
            lms.stop()
        # The same lesson page rendered for every view, as a learner's first view of it is.
        rendering = Server("wsgi:app", {**env, "LMS_PAGE_CACHE_MB": "0"}, ROOT)
        try:
            rendered_rps = measure_rps(rendering.port, lesson_path, args.seconds,
                                       login_cookie(rendering.port, lesson_path))
        finally:
            rendering.stop()
        (instance / "signed_in_app.py").write_text(SIGNED_IN_APP)
        floor = Server("signed_in_app:app", {**env, "PYTHONPATH": f"{instance}:{ROOT}"}, ROOT)
        try:
            floor_rps = measure_rps(floor.port, "/bench/signed-in", args.seconds,
                                    login_cookie(floor.port))
        finally:
            floor.stop()
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'python threads'}")
    print(f"bare Flask endpoint:   {bare_rps:8.1f} req/s")
    print(f"catalogue page:        {catalogue_rps:8.1f} req/s   "
          f"ratio {catalogue_rps / bare_rps:.3f} (goal >= 0.25)")
    print(f"lesson page:           {lesson_rps:8.1f} req/s   "
          f"ratio {lesson_rps / bare_rps:.3f} (goal >= 0.25)")
    print(f"lesson page, rendered for every view (PAGE_CACHE_MB=0, as a first view): "
          f"{rendered_rps:8.1f} req/s   ratio {rendered_rps / bare_rps:.3f}")
    print(f"signed-in, renders nothing: {floor_rps:8.1f} req/s   "
          f"ratio {floor_rps / bare_rps:.3f} (reference: any page that loads its signed-in user)")
    print(f"catalogue page weight: {catalogue_bytes / 1024:6.1f} KB gzipped (goal < 30 KB)")
    print(f"lesson page weight:    {lesson_bytes / 1024:6.1f} KB gzipped (goal < 30 KB)")


if __name__ == "__main__":
    main()
