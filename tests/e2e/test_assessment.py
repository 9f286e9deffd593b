"""An instructor imports questions and builds a timed quiz; a learner passes it in Tibetan and
sends photos of practical work; the instructor scores the rubric and approves."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from lms.courses.models import Lesson
from lms.extensions import db
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

GIFT = """\
$CATEGORY: ཐང་ཀའི་ཡོ་བྱད།

::ཀ་རག::ཐང་ཀའི་རས་གཞི་ལ་ཀ་རག་བྱུགས་དགོས།{T}

::金粉::唐卡的金色部分用金粉绘制。{TRUE}

::སྤྱིན::རས་གཞི་ལ་ཀ་རག་དང་མཉམ་དུ་ག་རེ་བསྲེས་སམ།{=སྤྱིན་ ~འབྲུ་མར་ ~ཚྭ་}
"""


def test_a_timed_quiz_and_a_reviewed_practical_task_complete_their_lessons(
        new_page, committed_make, tmp_path):
    instructor = committed_make.instructor()
    learner = committed_make.learner(locale="bo")
    course = committed_make.course(instructor=instructor, institution=instructor.institution,
                                   lessons=0, published=False, title_en="Thangka eyes")
    committed_make.practical_lesson(course)
    section_id = course.sections[0].id

    teacher = new_page("instructor")
    log_in(teacher, instructor.email, PASSWORD)
    gift = tmp_path / "materials.gift"
    gift.write_text(GIFT, encoding="utf-8")
    teacher.goto(f"/teach/courses/{course.id}/questions/import")
    teacher.set_input_files("#file", str(gift))
    teacher.click("#import-preview")
    assert teacher.inner_text("#import-total") == "3"
    teacher.click("#import-confirm")
    teacher.wait_for_url("**/questions/")

    teacher.goto(f"/teach/sections/{section_id}/lessons/new")
    teacher.select_option("#kind", "quiz")
    teacher.fill("#title_bo", "ཐང་ཀའི་ཡོ་བྱད་ཀྱི་ཚོད་ལྟ།")
    teacher.fill("#credit_hours", "1")
    teacher.click("form.card button")
    teacher.wait_for_url("**/teach/lessons/*")
    teacher.check("form.quiz-settings input[name=categories]")
    teacher.fill("#question_count", "3")
    teacher.fill("#time_limit_minutes", "10")
    teacher.fill("#pass_percent", "60")
    teacher.click("form.quiz-settings button")
    teacher.wait_for_selector("text=The quiz settings are saved.")
    teacher.goto(f"/teach/courses/{course.id}/outline")
    teacher.click("text=Publish")
    teacher.wait_for_selector("text=The course is published.")
    quiz_id = db.session.scalar(select(Lesson.id).where(Lesson.course_id == course.id,
                                                        Lesson.kind == "quiz"))
    task_id = db.session.scalar(select(Lesson.id).where(Lesson.course_id == course.id,
                                                        Lesson.kind == "practical"))
    db.session.commit()  # end the test's transaction: the server needs the write lock

    student = new_page("learner", locale="bo")
    log_in(student, learner.email, PASSWORD)
    student.goto(f"/courses/{course.id}")
    student.click("form[action$='/enrol'] button")
    student.wait_for_url("**/lessons/*")
    student.goto(f"/courses/{course.id}/lessons/{quiz_id}")
    assert student.get_attribute("html", "lang") == "bo"
    student.click("#start-quiz")
    student.wait_for_url("**/quiz/attempts/*")
    assert student.inner_text("[data-remaining]")  # the clock runs
    student.click("details.hand-in summary")  # handing in asks first, counting the blanks
    assert student.wait_for_selector("[data-unanswered].warning").inner_text().strip()
    student.click("details.hand-in summary")
    for radio in student.query_selector_all("input[type=radio][value=true]"):
        radio.check()
    student.click("fieldset.question label:has-text('སྤྱིན་')")
    student.wait_for_timeout(1200)  # let the autosave run once
    # "Save answers" saves in place: the learner keeps their place in a long quiz.
    student.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    place = student.evaluate("window.scrollY")
    student.click(".quiz-actions button.secondary")
    student.wait_for_function("() => { const f = document.querySelector('form[data-autosave]');"
                              " return document.querySelector('[data-autosave-status]')"
                              ".textContent === f.getAttribute('data-msg-saved'); }")
    assert place > 0 and student.evaluate("window.scrollY") == place
    student.click("details.hand-in summary")
    student.wait_for_selector("[data-unanswered].hint:not(:empty)")  # all answered
    student.click("#submit-attempt")
    student.wait_for_selector("#attempt-score.done")
    student.goto(f"/courses/{course.id}/lessons/{quiz_id}")
    student.wait_for_selector("#lesson-done")

    photo = tmp_path / "eyes.jpg"
    image = io.BytesIO()
    Image.new("RGB", (320, 240), (160, 40, 30)).save(image, "JPEG")
    photo.write_bytes(image.getvalue())
    student.goto(f"/courses/{course.id}/lessons/{task_id}")
    student.set_input_files("form.evidence-upload input[type=file]", str(photo))
    student.click("form.evidence-upload button")
    student.wait_for_selector("ul.evidence img")
    student.fill("form.submit-work textarea", "མིག་གཉིས་འབྲི་ཚར།")
    student.click("form.submit-work button")
    student.wait_for_selector("article.submission")

    teacher.goto("/review/")
    teacher.click("table.queue a")
    teacher.check("table.rubric label:has-text('Exact') input")
    teacher.fill("#feedback", "ལེགས་སོ། The eyes are even.")
    teacher.click("#approve")
    teacher.wait_for_selector("text=The work is approved.")

    student.reload()
    student.wait_for_selector("#lesson-done")
    assert "The eyes are even." in student.inner_text("main")
    student.goto(f"/courses/{course.id}")
    assert len(student.query_selector_all("ol.outline li.lesson.done")) == 2
