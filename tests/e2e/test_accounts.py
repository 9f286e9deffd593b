"""A learner registers, logs in, reads the interface in Tibetan and logs out."""

from __future__ import annotations


def test_learner_registers_logs_in_switches_to_tibetan_and_logs_out(page):
    page.goto("/account/register")
    page.fill("#real_name", "བཀྲ་ཤིས་ལྷ་མོ།")
    page.fill("#contact", "13800138001")
    page.fill("#password", "thangka-2026")
    page.fill("#confirm", "thangka-2026")
    page.select_option("#locale", "en")
    page.click("form.card button")
    page.wait_for_url("**/dashboard")
    assert "བཀྲ་ཤིས་ལྷ་མོ།" in page.content()

    page.click("header form.inline button")  # log out
    page.wait_for_url("**/")
    page.goto("/account/login")
    page.fill("#contact", "138 0013 8001")
    page.fill("#password", "thangka-2026")
    page.click("form.card button")
    page.wait_for_url("**/dashboard")

    page.click("form.langs button[value=bo]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "bo"
    assert "ཕྱིར་ཐོན།" in page.inner_text("header")  # "Log out" in Tibetan

    page.click("header form.inline button")
    page.wait_for_url("**/")
    assert "ནང་འཛུལ།" in page.inner_text("header")  # "Log in" in Tibetan
