"""A learner opens their record and downloads it; an employer verifies their certificate."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from lms.core.jobs import run_queued_jobs
from lms.core.storage import storage
from lms.extensions import db
from lms.records.models import Certificate
from tests.factories import PASSWORD


def test_learner_downloads_their_record_and_a_visitor_verifies_the_certificate(
        page, browser, live_server, committed_make, tmp_path):
    learner = committed_make.learner(real_name="卓玛", contact="13800138009")
    committed_make.completed_course(learner, lessons=2, title_en="Tibetan Incense Making",
                                    title_zh="藏香制作工艺")
    run_queued_jobs()
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    db.session.refresh(cert)
    serial, pdf_path = cert.serial, storage().path(cert.pdf_key)
    db.session.remove()  # end this thread's transaction: the server writes too

    page.goto("/account/login")
    page.fill("#contact", "13800138009")
    page.fill("#password", PASSWORD)
    page.click("form.card button")
    page.wait_for_url("**/dashboard")
    page.click("header nav >> text=My record")
    page.wait_for_url(f"**/records/learners/{learner.id}")
    assert "Tibetan Incense Making" in page.inner_text("main")
    assert serial in page.inner_text("main")
    with page.expect_download() as info:
        page.click("text=Download PDF")
    saved = tmp_path / "record.pdf"
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")

    visitor = browser.new_context(base_url=live_server, locale="en-US",
                                  viewport={"width": 412, "height": 915}).new_page()
    try:
        visitor.goto(f"/verify/{serial}")
        verdict = visitor.inner_text(".verdict")
        assert "Valid" in verdict
        assert "卓*" in visitor.inner_text("main") and "卓玛" not in visitor.content()
        visitor.set_input_files("input[type=file]", str(Path(pdf_path)))
        visitor.click("section.card button")
        visitor.wait_for_load_state()
        assert "This certificate is valid" in visitor.inner_text(".verdict")
    finally:
        visitor.context.close()


def test_file_inputs_speak_the_pages_language(page, tmp_path):
    """The browser's own "Choose File" / "No file chosen" is English here; the page is not."""
    page.goto("/language/bo?next=/verify/")
    picker = page.locator("section.card .file-pick")
    assert picker.locator(".file-pick-button").inner_text() == "ཡིག་ཆ་འདེམས།"
    assert picker.locator(".file-pick-name").inner_text() == "ཡིག་ཆ་བདམས་མེད།"
    # A tap on the page's button reaches the browser's own file chooser.
    box = picker.locator(".file-pick-button").bounding_box()
    # The browser hands its chooser to the test only once told to, and a click sent
    # before that is acknowledged opens nothing: listen first, then make a round trip.
    page.on("filechooser", lambda _chooser: None)
    page.evaluate("0")
    with page.expect_file_chooser() as chooser:
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    pdf = tmp_path / "ལག་འཁྱེར།.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    chooser.value.set_files(str(pdf))
    assert picker.locator(".file-pick-name").inner_text() == "ལག་འཁྱེར།.pdf"
    # The file goes with the form: an unsigned PDF is refused in Tibetan, not lost silently.
    page.click("section.card button")
    page.wait_for_selector(".verdict.invalid")
    assert "ནུས་མེད།" in page.inner_text(".verdict-title")
    assert page.locator(".file-pick-name").inner_text() == "ཡིག་ཆ་བདམས་མེད།"

    page.goto("/language/zh_Hans?next=/verify/")
    assert page.locator(".file-pick-button").inner_text() == "选择文件"
    assert page.locator(".file-pick-name").inner_text() == "未选择文件"
