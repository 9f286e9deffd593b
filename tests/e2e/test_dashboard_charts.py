"""The administrators' dashboard charts as a browser draws them: no word runs past a
chart's edge, and words print near the page's own size, on a phone and on a desktop."""

from __future__ import annotations

import pytest

from lms.extensions import db
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

#: Every drawn chart's words that leave its box or print too small, as the browser lays
#: them out: [chart title, class, text, reason].
PROBLEMS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const box = svg.getBoundingClientRect();
    if (!box.width) continue;  // the other drawing of the same chart
    const units = svg.viewBox.baseVal.width, scale = box.width / units;
    const chart = svg.querySelector("title").textContent;
    for (const t of svg.querySelectorAll("text")) {
      const b = t.getBBox(), cls = t.getAttribute("class");
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      const from = b.x.toFixed(1), to = (b.x + b.width).toFixed(1);
      if (b.x < -0.5 || b.x + b.width > units + 0.5)
        out.push([chart, cls, t.textContent, `x ${from} to ${to} of ${units}`]);
      // Axes, and the values over a line's points, are the chart's small print.
      const small = cls === "chart-axis" || svg.classList.contains("chart-line");
      if (px < (small ? 10 : 12))
        out.push([chart, cls, t.textContent, `${px.toFixed(1)} px`]);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("locale", ["bo", "zh_Hans"])
def test_chart_words_stay_inside_their_charts_at_a_readable_size(new_page, committed_make,
                                                                 locale):
    school = committed_make.institution(
        name_bo="ལྷ་ས་གྲོང་ཁྱེར་ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར་སློབ་གྲྭ་ཆེན་མོ།",
        name_zh="拉萨市职业技能公共实训基地与藏族传统手工艺传承中心",
        name_en="Lhasa Public Vocational Skills Training Base")
    for title_bo, title_zh in (("བོད་སྤོས་བཟོ་སྐྲུན་གྱི་ལག་རྩལ་གཞི་རྩ།", "藏香制作工艺基础"),
                               ("ཐང་ཀ་འབྲི་རྒྱུའི་གཞི་རྩའི་སློབ་ཚན།", "唐卡绘画基础课程")):
        committed_make.completed_course(committed_make.learner(), institution=school,
                                        title_bo=title_bo, title_zh=title_zh)
    contact = f"region-{locale}@yonten.example"
    committed_make.regional_admin(locale=locale, contact=contact)
    db.session.remove()  # the server reads what was committed

    for width in (1280, 390):
        page = new_page(f"{locale}-{width}")
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, contact, PASSWORD)
        page.goto("/records/dashboard")
        assert page.locator("svg.chart").count() >= 14  # seven charts, each drawn twice
        problems = page.evaluate(PROBLEMS)
        assert problems == [], (width, problems)
