"""An instructor builds and publishes a course; a learner finds it in Tibetan and completes it."""

from __future__ import annotations

from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_instructor_publishes_and_learner_completes_a_course_in_tibetan(new_page, committed_make,
                                                                          tmp_path):
    instructor = committed_make.instructor()
    learner = committed_make.learner(locale="bo")

    teacher = new_page("instructor")
    log_in(teacher, instructor.email, PASSWORD)
    teacher.goto("/teach/courses/new")
    teacher.fill("#code", "CARVING-1")
    teacher.fill("#title_bo", "ཤིང་རྐོས་ཀྱི་གཞི་རྩ།")
    teacher.fill("#title_zh", "木雕基础")
    teacher.fill("#title_en", "Wood carving basics")
    teacher.fill("#occupation_code", "6-01-02-01")
    teacher.fill("#nominal_hours", "8")
    teacher.click("form.card button")
    teacher.wait_for_url("**/outline")

    teacher.click("text=Add a section")
    teacher.fill("#title_bo", "ལེའུ་དང་པོ།")
    teacher.click("form.card button")
    teacher.wait_for_url("**/outline")

    teacher.click("a.add")
    teacher.select_option("#kind", "text")
    teacher.fill("#title_bo", "ལག་ཆ་ངོས་འཛིན།")
    teacher.fill("#body_bo", "**ཟོར་བ་** དང་ གཏུན་ཤིང་ ལ་ངོས་འཛིན་བྱེད།")
    teacher.fill("#credit_hours", "1")
    teacher.fill("#min_reading_minutes", "0")
    teacher.click("form.card button")
    teacher.wait_for_url("**/teach/lessons/*")

    teacher.goto(teacher.url.split("/teach/")[0] + "/teach/")
    teacher.click("text=Wood carving basics")
    teacher.click("a.add")
    teacher.select_option("#kind", "attachment")
    teacher.fill("#title_bo", "རི་མོའི་དཔེ།")
    teacher.fill("#credit_hours", "0.5")
    teacher.click("form.card button")
    teacher.wait_for_url("**/teach/lessons/*")
    pdf = tmp_path / "pattern.pdf"
    pdf.write_bytes(PDF)
    teacher.set_input_files("input[type=file]", str(pdf))
    teacher.click("text=Add the file")
    teacher.wait_for_selector("ul.files li:has-text('pattern.pdf')")

    teacher.click("nav.crumbs a")
    teacher.click("text=Publish")
    teacher.wait_for_selector("text=The course is published.")

    student = new_page("learner", locale="bo")
    log_in(student, learner.email, PASSWORD)
    student.goto("/courses/")
    student.fill("#q", "ཤིང་རྐོས")
    student.press("#q", "Enter")
    student.click("text=ཤིང་རྐོས་ཀྱི་གཞི་རྩ།")
    student.click("form[action$='/enrol'] button")
    student.wait_for_url("**/lessons/*")
    assert "ལག་ཆ་ངོས་འཛིན།" in student.inner_text("h1")
    student.click("form.reading button")
    student.wait_for_selector("#lesson-done")

    student.click("a[rel=next]")
    with student.expect_download() as download:
        student.click("ul.files a[download]")
    assert download.value.suggested_filename == "pattern.pdf"
    student.reload()
    student.wait_for_selector("#lesson-done")

    student.click("nav.crumbs a")
    assert "100%" in student.inner_text("main")
    assert student.locator("p.done").count() == 1
