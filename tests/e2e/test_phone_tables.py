"""On a 390 px phone in Tibetan, staff tables fit the screen and their actions can be tapped."""

from __future__ import annotations

from lms.extensions import db
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

PHONE = {"width": 390, "height": 844}

#: Whatever in ``main`` sticks out past the viewport's right edge (a table's header row, hidden
#: off-screen on a phone, does not count).
OVERFLOW = """() => {
  const out = [];
  for (const el of document.querySelectorAll("main *")) {
    if (el.closest("thead")) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > innerWidth + 0.5)
      out.push(el.tagName + "." + el.className + " " + (el.textContent || "").trim().slice(0, 40));
  }
  return {scroll: document.documentElement.scrollWidth, width: innerWidth, out};
}"""


def fits_and_taps(page, path: str, action: str | None = None) -> None:
    """``path`` fits the phone's width and each ``action`` link is whole on screen, tap-sized."""
    page.goto(path)
    assert page.locator("html").get_attribute("lang") == "bo"
    assert "stack" in page.locator("main table").get_attribute("class")
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"], found
    assert found["out"] == [], found
    if action is None:
        return
    links = page.locator(action)
    assert links.count() >= 1, path
    for n in range(links.count()):
        box = links.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 43 and box["width"] >= 43, (path, box)


def test_staff_tables_fit_a_phone_in_tibetan(new_page, committed_make):
    teacher = committed_make.instructor(locale="bo", contact="teacher@phone.example")
    course = committed_make.course(instructor=teacher, lessons=1)
    learner = committed_make.learner(real_name="ཚེ་རིང་སྒྲོལ་མ་བཀྲ་ཤིས་དབང་མོ།")
    committed_make.evidence_video(course=course, learner=learner)  # enrols and sends work
    committed_make.completed_course(committed_make.learner(), lessons=1)
    committed_make.regional_admin(locale="bo", contact="admin@phone.example")
    course_id = course.id
    db.session.remove()  # end this thread's transaction: the server writes too

    staff = new_page("teacher")
    staff.set_viewport_size(PHONE)
    log_in(staff, "teacher@phone.example", PASSWORD)
    fits_and_taps(staff, "/review/", "main td.act a")
    fits_and_taps(staff, f"/teach/courses/{course_id}/progress")

    admin = new_page("admin")
    admin.set_viewport_size(PHONE)
    log_in(admin, "admin@phone.example", PASSWORD)
    admin.goto("/records/exports/")
    admin.click("main form.card > button")
    admin.wait_for_url("**/records/exports/*")
    admin.goto("/records/exports/")
    for _ in range(60):  # the worker beside the server writes the file
        if admin.locator("main td.act a").count():
            break
        admin.wait_for_timeout(250)
        admin.reload()
    fits_and_taps(admin, "/records/exports/", "main td.act a")

    # The header keeps to three rows: the language switch shares the brand's.
    brand, langs = (admin.locator(f"header.site {s}").bounding_box()
                    for s in (".brand", ".langs"))
    assert abs(brand["y"] + brand["height"] / 2 - (langs["y"] + langs["height"] / 2)) < 8
    assert admin.locator("header.site").bounding_box()["height"] < 210
