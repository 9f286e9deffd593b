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
