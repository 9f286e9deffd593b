"""Export benchmark: the completion-record export against ``sqlite3 -csv``, memory and XLSX speed.

It generates a SQLite database with ``--rows`` ledger entries (1,000,000 by
default; bulk-inserted, so the hash chains are not valid: the export does not
read them) and, in the same run on the same database, measures

* the CSV export's wall time ÷ ``sqlite3 -csv`` dumping the same rows to a
  file (goal: <= 2.0). The shell runs ``entries_stmt``, the export as one
  query that joins every row's names and labels in; the export itself reads
  the entries' facts and looks each learner's, course's and institution's
  names up once per key (``reports.keyed_entries``), and a test proves the
  two give the same file;
* the export's peak memory at all rows ÷ at a tenth of them, each export run
  in its own process (``ru_maxrss`` of the process, and ``tracemalloc``'s peak
  of the export alone, which also counts the names looked up: they grow with
  the learners the export names, up to a fixed number of keys, not with its
  rows) (goal: <= 1.2);
* XLSX rows per second.

Each export runs in a fresh subprocess (``--child``). Times are the best of
``--repeat`` runs, since on a shared machine the slower runs measure the
neighbours; CPU times (the export's process time, the shell's user + system
time) are printed beside them, as they hardly depend on the neighbours.

    .venv/bin/python bench/records_bench.py [--rows 1000000] [--repeat 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEARNERS_PER_ENTRY = 20  # a learner has ~20 entries
COURSES, LESSONS_PER_COURSE = 60, 12
START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)  # entries are spread evenly in time, one every 30 s


# --- the database ----------------------------------------------------------------------

def build_database(path: Path, rows: int) -> None:
    """Create the schema from the models and bulk-insert ``rows`` ledger entries."""
    import importlib

    from sqlalchemy import create_engine

    import lms  # noqa: F401  (registers every model)
    from lms import REGISTERING_MODULES
    from lms.core.db import Base

    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()

    rng = random.Random(2018)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    now = "2025-01-01 00:00:00.000000"
    prefectures = ["540100", "540200", "540300", "540400", "540500", "540600", "542500"]
    conn.executemany(
        "INSERT INTO institutions (id, code, name_bo, name_zh, name_en, kind, prefecture, "
        "subsidy_approved, is_active, created_at, updated_at) VALUES (?,?,?,?,?,?,?,1,1,?,?)",
        [(i + 1, f"BENCH-{i + 1}", f"སྦྱོང་བརྡར་ལས་ཁུངས། {i + 1}", f"培训机构{i + 1}",
          f"Institution {i + 1}", "public_training_base", p, now, now)
         for i, p in enumerate(prefectures)])
    learners = max(rows // LEARNERS_PER_ENTRY, 1)
    conn.executemany(
        "INSERT INTO users (id, real_name, email, password_hash, locale, role, "
        "resident_id_masked, is_active, failed_logins, session_version, created_at, "
        "updated_at) VALUES (?,?,?,'x','bo','learner',?,1,0,1,?,?)",
        ((u, f"བཀྲ་ཤིས་ལྷ་མོ། {u}", f"learner{u}@bench.example", f"5401**********{u % 10000:04d}",
          now, now) for u in range(1, learners + 1)))
    levels = ["level5", "level4", "level3", "level2", "level1"]
    types = ["employment", "upgrading", "entrepreneurship", "apprenticeship"]
    courses = []
    for c in range(1, COURSES + 1):
        inst = (c % len(prefectures)) + 1
        courses.append((c, f"BENCH-C{c}", inst, f"ཐང་ཀ་འབྲི་རྒྱུ། {c}", f"唐卡绘画 {c}",
                        f"Thangka painting {c}", "4-13-02-03", levels[c % 5], types[c % 4],
                        48, 1, 0, "published", now, now))
    conn.executemany(
        "INSERT INTO courses (id, code, institution_id, title_bo, title_zh, title_en, "
        "occupation_code, skill_level, training_type, nominal_hours, subsidised, sequential, "
        "status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", courses)
    conn.executemany("INSERT INTO sections (id, course_id, position) VALUES (?,?,0)",
                     [(c, c) for c in range(1, COURSES + 1)])
    conn.executemany(
        "INSERT INTO lessons (id, course_id, section_id, section_position, position, kind, "
        "title_bo, title_zh, title_en, credit_hours, required, is_published, "
        "min_reading_seconds, created_at, updated_at) "
        "VALUES (?,?,?,0,?,'text',?,?,?,1.5,1,1,60,?,?)",
        [((c - 1) * LESSONS_PER_COURSE + n, c, c, n, f"སློབ་ཁྲིད། {n}", f"课节 {n}",
          f"Lesson {n}", now, now)
         for c in range(1, COURSES + 1) for n in range(1, LESSONS_PER_COURSE + 1)])

    def entries():
        seqs = [0] * (learners + 1)
        for i in range(rows):
            learner = rng.randint(1, learners)
            seqs[learner] += 1
            course = courses[rng.randrange(COURSES)]
            lesson = (course[0] - 1) * LESSONS_PER_COURSE + rng.randint(1, LESSONS_PER_COURSE)
            at = (START + i * STEP).strftime("%Y-%m-%d %H:%M:%S.%f")
            yield (i + 1, learner, seqs[learner], course[2], course[0], lesson, course[8],
                   course[7], "lesson_completed", "1.50", rng.randint(60, 3600), at, at,
                   "{}", "system", f"lesson:{lesson}:{i}", f"{i:064x}", f"{i + 1:064x}")

    conn.executemany(
        "INSERT INTO ledger_entries (id, learner_id, seq, institution_id, course_id, lesson_id, "
        "training_type, skill_level, kind, hours, verified_seconds, occurred_at, recorded_at, "
        "evidence, source, credit_key, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", entries())
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def tenth_date_to(rows: int) -> date:
    """The last day of the first tenth of the entries (entries are evenly spread in time)."""
    return (START + (rows // 10) * STEP).date() - timedelta(days=1)


# --- one export in its own process -------------------------------------------------------

def child(args: argparse.Namespace) -> None:
    """Run one export and print its figures as JSON (``--child``)."""
    tracing = args.tracemalloc
    from lms import create_app
    from lms.records import reports
    from lms.records.models import ExportShape

    instance = Path(tempfile.mkdtemp(prefix="records-bench-"))
    app = create_app({"INSTANCE_DIR": str(instance), "DATABASE_URL": f"sqlite:///{args.db}",
                      "MEDIA_ROOT": str(instance / "media"), "SECRET_KEY": "bench",
                      "JOB_QUEUE": "memory", "REDIS_URL": "", "DEFAULT_LOCALE": "zh_Hans"})
    filters = reports.ExportFilters(date_to=date.fromisoformat(args.date_to)
                                    if args.date_to else None)
    with app.app_context():
        if tracing:
            import tracemalloc

            tracemalloc.start()
        start, cpu = time.perf_counter(), time.process_time()
        with open(args.out, "wb") as out:
            rows = reports.write_export(out, args.format, ExportShape.ENTRIES, filters,
                                        locale="zh_Hans")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if tracing else None
    shutil.rmtree(instance, ignore_errors=True)
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu, "traced_peak": peak,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def run_child(db: Path, fmt: str, out: Path, *, date_to: date | None = None,
              tracemalloc: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", "--db", str(db), "--format", fmt,
           "--out", str(out)]
    if date_to:
        cmd += ["--date-to", date_to.isoformat()]
    if tracemalloc:
        cmd.append("--tracemalloc")
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        sys.exit(f"The export failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - started
    return figures


def sqlite3_dump(db: Path, out: Path) -> tuple[float, float]:
    """``sqlite3 -csv`` dumping the export's own query; returns wall and CPU seconds."""
    sql = export_sql(db)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(out, "wb") as fh:
        subprocess.run(["sqlite3", "-csv", "-header", str(db), sql], stdout=fh, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def export_sql(db: Path) -> str:
    """The entries export's SELECT, compiled for SQLite with its values inlined."""
    from sqlalchemy.dialects import sqlite

    from lms import create_app
    from lms.records import reports
    from lms.records.models import ExportShape

    instance = Path(tempfile.mkdtemp(prefix="records-bench-"))
    app = create_app({"INSTANCE_DIR": str(instance), "DATABASE_URL": f"sqlite:///{db}",
                      "MEDIA_ROOT": str(instance / "media"), "SECRET_KEY": "bench",
                      "JOB_QUEUE": "memory", "REDIS_URL": "", "DEFAULT_LOCALE": "zh_Hans"})
    with app.app_context():
        shape = ExportShape.ENTRIES
        labels = reports.Labels("zh_Hans", app.config["PUBLIC_URL"].rstrip("/"))
        stmt = reports.export_statement(shape, reports.ExportFilters(), labels,
                                        keys=[c.key for c in reports.columns_for(shape)])
        sql = str(stmt.compile(dialect=sqlite.dialect(),
                               compile_kwargs={"literal_binds": True}))
    shutil.rmtree(instance, ignore_errors=True)
    return sql


# --- the run -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="Keep the database and files in this directory.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--date-to", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if shutil.which("sqlite3") is None:
        sys.exit("The sqlite3 command-line shell is needed (Debian package sqlite3).")

    work = args.keep or Path(tempfile.mkdtemp(prefix="records-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    if db.exists():
        db.unlink()
    started = time.perf_counter()
    build_database(db, args.rows)
    print(f"Generated {args.rows:,} ledger entries in {time.perf_counter() - started:.1f} s "
          f"({db.stat().st_size / 2**20:.0f} MB).")

    dumps, export_runs = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        dumps.append(sqlite3_dump(db, work / "sqlite3.csv"))
        export_runs.append(run_child(db, "csv", work / "export.csv"))
    dump, dump_cpu = min(d[0] for d in dumps), min(d[1] for d in dumps)
    export = min(export_runs, key=lambda r: r["seconds"])
    export_cpu = min(r["cpu"] for r in export_runs)
    assert export["rows"] == args.rows, export
    print(f"sqlite3 -csv:      {dump:7.2f} s  ({args.rows / dump:,.0f} rows/s; "
          f"CPU {dump_cpu:.2f} s)")
    print(f"CSV export:        {export['seconds']:7.2f} s  "
          f"({args.rows / export['seconds']:,.0f} rows/s; CPU {export_cpu:.2f} s; "
          f"{export['process_seconds']:.2f} s with interpreter start-up)")
    time_ratio, cpu_ratio = export["seconds"] / dump, export_cpu / dump_cpu

    tenth = tenth_date_to(args.rows)
    small = run_child(db, "csv", work / "tenth.csv", date_to=tenth)
    big_traced = run_child(db, "csv", work / "export.csv", tracemalloc=True)
    small_traced = run_child(db, "csv", work / "tenth.csv", date_to=tenth, tracemalloc=True)
    rss_ratio = export["maxrss_kb"] / small["maxrss_kb"]
    traced_ratio = big_traced["traced_peak"] / small_traced["traced_peak"]
    print(f"Peak memory:       {export['maxrss_kb'] / 1024:7.1f} MB at {export['rows']:,} rows, "
          f"{small['maxrss_kb'] / 1024:.1f} MB at {small['rows']:,} rows (process maxrss); "
          f"export alone {big_traced['traced_peak'] / 2**20:.1f} MB vs "
          f"{small_traced['traced_peak'] / 2**20:.1f} MB (tracemalloc)")

    xlsx = run_child(db, "xlsx", work / "export.xlsx")
    print(f"XLSX export:       {xlsx['seconds']:7.2f} s  "
          f"({(work / 'export.xlsx').stat().st_size / 2**20:.0f} MB)")

    print()
    print(f"CSV export time / sqlite3 -csv time: {time_ratio:.2f}  (goal <= 2.0; "
          f"CPU time {cpu_ratio:.2f})")
    print(f"Peak memory at {args.rows:,} / at {small['rows']:,} rows: {rss_ratio:.2f} "
          f"(maxrss; tracemalloc {traced_ratio:.2f})  (goal <= 1.2)")
    print(f"XLSX rows per second: {xlsx['rows'] / xlsx['seconds']:,.0f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("LMS_LOG_LEVEL", "WARNING")
    main()
