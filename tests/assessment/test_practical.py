"""Practical work: evidence checked by content, submissions, rubric reviews, stages, history."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from lms.assessment.models import Evidence, Review, Submission, SubmissionState
from lms.assessment.operations import evidence as evidence_ops
from lms.assessment.operations import practical
from lms.core import signals
from lms.core.storage import storage
from lms.courses import operations as course_ops
from lms.extensions import db as database

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41" + bytes(2000)
REFUSED = {
    "page.html": b"<!doctype html><html><script>alert(document.cookie)</script></html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "setup.exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200),
    "work.zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(200),
}


def photo(maker: str = "SecretCam 3000") -> bytes:
    """A JPEG carrying camera metadata that must not survive."""
    image = Image.new("RGB", (64, 48), (180, 30, 20))
    exif = Image.Exif()
    exif[0x010F] = maker
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    assert maker.encode() in out.getvalue()
    return out.getvalue()


@pytest.fixture
def work(make, login_as):
    """An enrolled learner (logged in) with the course's practical lesson open."""
    def build(**practical_kw):
        course, _quiz, lesson = make.assessed_course(practical=practical_kw)
        learner = make.learner()
        make.enrolment(learner, course)
        task = practical.task_for(lesson)
        return login_as(learner), learner, course, lesson, task
    return build


def add_file(client, stage, data: bytes, name: str = "work.jpg"):
    return client.post(f"/practical/stages/{stage.id}/evidence",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def send(client, stage, text: str = ""):
    return client.post(f"/practical/stages/{stage.id}/submit", data={"text": text},
                       follow_redirects=True)


def review(client, submission, level_points: int, decision: str = "approve",
           feedback: str = "ལེགས་སོ། Clean lines."):
    criterion = submission.task.criteria[0]
    level = next(lv for lv in criterion.levels if lv.points == level_points)
    return client.post(f"/review/submissions/{submission.id}", data={
        f"c{criterion.id}": level.id, "feedback": feedback, "decision": decision},
        follow_redirects=True)


def teacher_of(make, course):
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    return teacher


def submission_of(learner) -> Submission:
    return database.session.scalars(select(Submission).where(Submission.user_id == learner.id)
                                    .order_by(Submission.id.desc())).first()


# --- evidence -----------------------------------------------------------------------------

def test_a_photo_is_re_encoded_without_its_metadata(work):
    client, learner, _course, _lesson, task = work()
    page = add_file(client, task.stages[0], photo(), "ཐང་ཀ.jpeg")
    assert "The file is added" in page.text
    evidence = database.session.scalar(select(Evidence))
    stored = storage().path(evidence.key).read_bytes()
    assert evidence.kind == "photo" and evidence.content_type == "image/jpeg"
    assert b"SecretCam" not in stored and Image.open(io.BytesIO(stored)).size == (64, 48)
    assert evidence.filename == "ཐང་ཀ.jpg"


def test_evidence_arrives_through_the_resumable_upload(work, app):
    client, learner, _course, _lesson, task = work()
    data = PDF
    started = client.post("/uploads/", json={"purpose": "evidence", "filename": "plan.pdf",
                                             "size": len(data)}).json
    put = client.put(f"/uploads/{started['id']}?offset=0", data=data, headers={
        "X-CSRFToken": client.csrf_token(), "Content-Type": "application/octet-stream"})
    assert put.status_code == 200
    assert client.post(f"/uploads/{started['id']}/complete").json["state"] == "complete"
    page = client.post(f"/practical/stages/{task.stages[0].id}/evidence",
                       data={"upload_id": started["id"]}, follow_redirects=True)
    assert "The file is added" in page.text
    evidence = database.session.scalar(select(Evidence))
    assert evidence.kind == "pdf" and evidence.filename == "plan.pdf"
    # The upload is claimed: it cannot be attached a second time.
    again = client.post(f"/practical/stages/{task.stages[0].id}/evidence",
                        data={"upload_id": started["id"]})
    assert again.status_code in (302, 404)
    assert database.session.scalar(select(Evidence.id).where(Evidence.id != evidence.id)) is None


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_html_svg_executables_and_zips_are_rejected_as_evidence(work, name):
    client, _learner, _course, _lesson, task = work()
    page = add_file(client, task.stages[0], REFUSED[name], name)
    assert "cannot be uploaded here" in page.text
    started = client.post("/uploads/", json={"purpose": "evidence", "filename": name,
                                             "size": len(REFUSED[name])}).json
    put = client.put(f"/uploads/{started['id']}?offset=0", data=REFUSED[name], headers={
        "X-CSRFToken": client.csrf_token(), "Content-Type": "application/octet-stream"})
    assert put.status_code == 415
    assert database.session.scalar(select(Evidence.id)) is None


def test_only_people_enrolled_somewhere_may_upload_evidence(login_as, make, jpeg):
    client = login_as(make.learner())
    response = client.post("/uploads/", json={"purpose": "evidence", "filename": "a.jpg",
                                              "size": len(jpeg)})
    assert response.status_code == 403


def test_a_video_is_kept_and_handed_to_the_video_hook(work):
    client, _learner, _course, _lesson, task = work(evidence=("video",))
    seen = []

    class Spy(evidence_ops.EvidenceVideoHandler):
        def take(self, evidence):
            seen.append(evidence)

    spy = Spy()
    evidence_ops.EVIDENCE_VIDEO_HANDLERS.append(spy)
    try:
        add_file(client, task.stages[0], MP4, "painting.mp4")
    finally:
        evidence_ops.EVIDENCE_VIDEO_HANDLERS.remove(spy)
    evidence = database.session.scalar(select(Evidence))
    assert evidence.kind == "video" and evidence.content_type == "video/mp4"
    assert seen == [evidence] and storage().path(evidence.key).read_bytes() == MP4


def test_evidence_is_served_as_a_download_or_a_sandboxed_image(work):
    client, learner, _course, _lesson, task = work()
    add_file(client, task.stages[0], photo())
    add_file(client, task.stages[0], PDF, "plan.pdf")
    image, pdf = database.session.scalars(select(Evidence).order_by(Evidence.id)).all()
    shown = client.get(f"/practical/evidence/{image.id}?inline=1")
    assert shown.mimetype == "image/jpeg" and "sandbox" in shown.headers["Content-Security-Policy"]
    assert not shown.headers["Content-Disposition"].startswith("attachment")
    download = client.get(f"/practical/evidence/{pdf.id}?inline=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


# --- submitting and reviewing ------------------------------------------------------------------

def test_a_submission_needs_every_kind_of_evidence_required(work):
    client, learner, _course, _lesson, task = work(evidence=("photo", "text"))
    stage = task.stages[0]
    assert "Still missing" in send(client, stage, "").text
    add_file(client, stage, photo())
    assert "Still missing" in send(client, stage, "").text
    assert "sent for review" in send(client, stage, "I stretched it twice.").text
    sent = submission_of(learner)
    assert sent.state == SubmissionState.SUBMITTED and sent.text == "I stretched it twice."


def test_an_approval_completes_the_lesson_and_sends_practical_approved(work, make, login_as):
    client, learner, course, lesson, task = work()
    add_file(client, task.stages[0], photo())
    send(client, task.stages[0])
    sent = []
    signals.practical_approved.connect(on := lambda sender, **kw: sent.append(kw))
    try:
        page = review(login_as(teacher_of(make, course)), submission_of(learner), 4)
    finally:
        signals.practical_approved.disconnect(on)
    assert "The work is approved" in page.text
    submission = submission_of(learner)
    the_review = database.session.scalar(select(Review))
    assert submission.state == SubmissionState.APPROVED
    assert sent == [{"submission": submission, "review": the_review}]
    assert the_review.points == 4 and the_review.scores[0]["level"] == {"en": "Exact"}
    progress = course_ops.progress_for(course_ops.find_enrolment(learner, course), lesson)
    assert progress.completed_at is not None
    assert progress.evidence == {"submission": submission.id, "review": the_review.id}


def test_approval_below_the_pass_threshold_is_refused(work, make, login_as):
    client, learner, course, _lesson, task = work(pass_percent=75)
    add_file(client, task.stages[0], photo())
    send(client, task.stages[0])
    page = review(login_as(teacher_of(make, course)), submission_of(learner), 2)
    assert "below the pass threshold" in page.text
    assert submission_of(learner).state == SubmissionState.SUBMITTED


def test_a_revision_keeps_the_history_of_every_submission_and_review(work, make, login_as):
    client, learner, course, lesson, task = work()
    stage = task.stages[0]
    teacher = teacher_of(make, course)  # the client is one browser: log in as each in turn
    add_file(client, stage, photo())
    send(client, stage, "First try.")
    review(login_as(teacher), submission_of(learner), 0, "revision", "The eyes are uneven.")
    client = login_as(learner)
    add_file(client, stage, photo())
    send(client, stage, "Second try.")
    review(login_as(teacher), submission_of(learner), 4)
    submissions = database.session.scalars(select(Submission).order_by(Submission.id)).all()
    assert [(s.number, s.state) for s in submissions] == [
        (1, SubmissionState.REVISION), (2, SubmissionState.APPROVED)]
    page = login_as(learner).get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert "The eyes are uneven." in page and "First try." in page and "Second try." in page


def test_stages_are_done_in_order_and_the_last_approval_completes_the_lesson(work, make,
                                                                            login_as):
    client, learner, course, lesson, task = work(stages=("Sketch", "Colouring", "Gilding"))
    sketch, colouring, gilding = task.stages
    add_file(client, colouring, photo())
    assert database.session.scalar(select(Evidence.id)) is None  # not open yet
    teacher = teacher_of(make, course)
    for stage in (sketch, colouring, gilding):
        client = login_as(learner)
        add_file(client, stage, photo())
        assert "sent for review" in send(client, stage).text
        review(login_as(teacher), submission_of(learner), 4)
        done = course_ops.progress_for(course_ops.find_enrolment(learner, course), lesson)
        assert (done.completed_at is not None) == (stage is gilding)
    queue = login_as(teacher).get(f"/review/?course={course.id}&stage={gilding.id}")
    assert queue.status_code == 200 and "Nothing waits" in queue.text


def test_the_review_queue_is_oldest_first_and_filters_by_course_and_stage(make, login_as):
    teacher = make.instructor()
    courses, names = [], []
    for n in range(2):
        course, _quiz, lesson = make.assessed_course(instructor=teacher,
                                                     institution=teacher.institution)
        courses.append(course)
        for m in range(2):
            learner = make.learner(real_name=f"Learner {n}{m}")
            names.append(learner.real_name)
            make.enrolment(learner, course)
            client = login_as(learner)
            stage = practical.task_for(lesson).stages[0]
            add_file(client, stage, photo())
            send(client, stage)
    staff = login_as(teacher)
    page = staff.get("/review/").text
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    only = staff.get(f"/review/?course={courses[1].id}").text
    assert "Learner 10" in only and "Learner 00" not in only
    assert "Learner 00" not in login_as(make.instructor()).get("/review/").text


# --- who may see and review -----------------------------------------------------------------------

def test_the_review_queue_lists_no_stages_of_a_course_the_reviewer_does_not_review(make,
                                                                                  login_as):
    course, _quiz, lesson = make.assessed_course(
        practical={"stages": ("སྐྱ་རིས། Secret sketch", "Secret colouring")})
    stranger = login_as(make.instructor())
    page = stranger.get(f"/review/?course={course.id}").text
    assert "Secret sketch" not in page and "Secret colouring" not in page
    # The course's own reviewers still filter by stage.
    teacher = teacher_of(make, course)
    learner = make.learner()
    make.enrolment(learner, course)
    client = login_as(learner)
    stage = practical.task_for(lesson).stages[0]
    add_file(client, stage, photo())
    send(client, stage)
    assert "Secret colouring" in login_as(teacher).get(f"/review/?course={course.id}").text



def test_a_learner_reviewing_their_own_submission_gets_403(work, make, login_as):
    client, learner, course, _lesson, task = work()
    add_file(client, task.stages[0], photo())
    send(client, task.stages[0])
    submission = submission_of(learner)
    assert review(client, submission, 4).status_code == 403
    # Nor an instructor who took their own course as a learner.
    teacher = teacher_of(make, course)
    make.enrolment(teacher, course)
    own = login_as(teacher)
    add_file(own, task.stages[0], photo())
    send(own, task.stages[0])
    assert review(own, submission_of(teacher), 4).status_code == 403
    assert submission_of(teacher).state == SubmissionState.SUBMITTED


def test_a_learner_fetching_another_learners_submission_or_file_gets_403(work, make, login_as):
    client, learner, course, _lesson, task = work()
    add_file(client, task.stages[0], photo())
    send(client, task.stages[0])
    submission, evidence = submission_of(learner), database.session.scalar(select(Evidence))
    assert client.get(f"/review/submissions/{submission.id}").status_code == 200
    assert client.get(f"/practical/evidence/{evidence.id}").status_code == 200
    other = make.learner()
    make.enrolment(other, course)
    intruder = login_as(other)
    assert intruder.get(f"/review/submissions/{submission.id}").status_code == 403
    assert intruder.get(f"/practical/evidence/{evidence.id}").status_code == 403
    assert intruder.post(f"/practical/evidence/{evidence.id}/delete").status_code == 403
    assert login_as(make.instructor()).get(
        f"/practical/evidence/{evidence.id}").status_code == 403


def test_instructors_build_stages_and_the_rubric_from_the_lesson_editor(make, login_as):
    course, _quiz, lesson = make.assessed_course()
    client = login_as(make.author)
    task = practical.task_for(lesson)
    assert 'id="practical"' in client.get(f"/teach/lessons/{lesson.id}").text
    client.post(f"/teach/lessons/{lesson.id}/practical", data={
        "evidence_kinds": ["photo", "video"], "pass_percent": "70"})
    client.post(f"/teach/lessons/{lesson.id}/practical/stages", data={
        "stage-title_zh": "上色", "stage-title_en": "Colouring"})
    client.post(f"/teach/lessons/{lesson.id}/practical/criteria", data={
        "new-title_zh": "用色", "new-title_en": "Colour", "new-stage_id": "",
        "new-levels-0-points": "0", "new-levels-0-title_en": "Muddy",
        "new-levels-1-points": "3", "new-levels-1-title_en": "Clear"})
    database.session.refresh(task)
    assert task.evidence_kinds == ["photo", "video"] and task.pass_percent == 70
    assert [s.title_en for s in task.stages] == [None, "Colouring"]
    colour = task.criteria[-1]
    assert colour.title_zh == "用色" and [lv.points for lv in colour.levels] == [0, 3]
    page = client.post(f"/teach/lessons/{lesson.id}/practical/criteria", data={
        "new-title_en": "Lonely", "new-levels-0-points": "1"}, follow_redirects=True)
    assert "at least two levels" in page.text


# --- words for translators ---------------------------------------------------------------------

def test_a_titled_stage_heading_is_one_sentence_for_translators(work, app):
    # Every message shows between brackets: a heading glued from two messages would show two.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: f"⟦{s}⟧", ngettext=lambda s, p, n: f"⟦{s if n == 1 else p}⟧",
        newstyle=True)
    client, _learner, course, lesson, _task = work(stages=("Sketch", "Paint"))
    page = client.get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert "<h2>⟦Stage 1: Sketch⟧</h2>" in page and "<h2>⟦Stage 2: Paint⟧</h2>" in page


# --- files kept and files cleaned up --------------------------------------------------------

def upload_pdf(client) -> int:
    """A PDF sent through the resumable upload and completed; its upload id."""
    started = client.post("/uploads/", json={"purpose": "evidence", "filename": "plan.pdf",
                                             "size": len(PDF)}).json
    client.put(f"/uploads/{started['id']}?offset=0", data=PDF, headers={
        "X-CSRFToken": client.csrf_token(), "Content-Type": "application/octet-stream"})
    assert client.post(f"/uploads/{started['id']}/complete").json["state"] == "complete"
    return started["id"]


def test_a_stage_that_is_not_open_keeps_the_uploaded_file_for_later(work, make, login_as):
    from lms.uploads.models import Upload

    client, learner, course, _lesson, task = work(stages=("Sketch", "Colouring"))
    sketch, colouring = task.stages
    upload_id = upload_pdf(client)
    page = client.post(f"/practical/stages/{colouring.id}/evidence",
                       data={"upload_id": upload_id}, follow_redirects=True)
    assert "Finish the earlier stages first." in page.text
    database.session.expire_all()
    upload = database.session.get(Upload, upload_id)
    assert storage().exists(upload.key)  # a weak network need not send it again
    page = client.post(f"/practical/stages/{sketch.id}/evidence",
                       data={"upload_id": upload_id}, follow_redirects=True)
    assert "The file is added" in page.text


def test_an_upload_whose_bytes_are_gone_is_refused_with_a_message(work):
    from lms.uploads.models import Upload

    client, _learner, _course, _lesson, task = work()
    upload_id = upload_pdf(client)
    storage().delete(database.session.get(Upload, upload_id).key)
    page = client.post(f"/practical/stages/{task.stages[0].id}/evidence",
                       data={"upload_id": upload_id}, follow_redirects=True)
    assert page.status_code == 200
    assert "The uploaded file is no longer there; please send it again." in page.text
    assert database.session.scalar(select(Evidence.id)) is None


def test_an_evidence_copy_is_deleted_when_its_unit_of_work_rolls_back(work):
    from lms.courses.operations import find_enrolment
    from lms.uploads import operations as uploads

    _client, learner, course, _lesson, task = work()
    upload = uploads.store_file(learner, purpose="evidence", filename="plan.pdf",
                                stream=io.BytesIO(PDF), size=len(PDF))
    upload = uploads.claim_upload(upload.id, learner, "evidence")
    evidence = evidence_ops.add_evidence(learner, find_enrolment(learner, course),
                                         task.stages[0], upload)
    copy = storage().path(evidence.key)
    assert copy.is_file()
    database.session.rollback()
    assert not copy.exists()


def test_a_review_reads_in_each_readers_language_whoever_wrote_it(work, make, login_as):
    client, learner, course, lesson, task = work()
    stage = task.stages[0]
    criterion = task.criteria[0]
    criterion.title_bo, criterion.title_zh = "རས་ཀྱི་དམ་ཚད།", "绷紧程度"
    for level in criterion.levels:
        level.title_bo, level.title_zh = f"ཚད་རིམ་ {level.points}", f"等级 {level.points}"
    learner.locale = "bo"
    teacher = teacher_of(make, course)
    teacher.locale = "zh_Hans"
    database.session.commit()
    add_file(client, stage, photo())
    send(client, stage, "ཐང་ཀའི་རས།")
    review(login_as(teacher), submission_of(learner), 4)
    scores = database.session.scalar(select(Review.scores))
    assert scores[0]["criterion"] == {"bo": "རས་ཀྱི་དམ་ཚད།", "zh": "绷紧程度",
                                      "en": criterion.title_en}

    page = login_as(learner).get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert "རས་ཀྱི་དམ་ཚད། · ཚད་རིམ་ 4" in page and "绷紧程度" not in page
    # The rubric changes later: the review keeps the words it was given in.
    criterion.title_bo = "གཞན།"
    database.session.commit()
    assert "རས་ཀྱི་དམ་ཚད། · ཚད་རིམ་ 4" in login_as(learner).get(
        f"/courses/{course.id}/lessons/{lesson.id}").text
    # A review stored before reviews kept every language still shows as it was written.
    review_row = database.session.scalar(select(Review))
    review_row.scores = [{**scores[0], "criterion": "Canvas", "level": "Taut"}]
    database.session.commit()
    assert "Canvas · Taut" in login_as(learner).get(
        f"/courses/{course.id}/lessons/{lesson.id}").text


@pytest.mark.parametrize("locale, missing", [
    ("zh_Hans", "尚缺：照片、文字说明。"), ("bo", "ད་དུང་ཆད་པ། པར་རིས། ཡི་གེའི་གསལ་བཤད།")])
def test_what_is_still_missing_is_listed_with_the_readers_punctuation(work, locale, missing):
    client, learner, _course, _lesson, task = work(evidence=("photo", "text"))
    learner.locale = locale
    database.session.commit()
    assert missing in send(client, task.stages[0]).text
