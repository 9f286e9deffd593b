"""Server-rendered SVG charts: escaping, accessibility, empty data, no inline code."""

from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms.records.charts import (
    INSET,
    NARROW,
    SIZES,
    TIBETAN_SIZES,
    WIDTH,
    _em_width,
    _wrap,
    bar_chart,
    line_chart,
    responsive,
)

SVG = "{http://www.w3.org/2000/svg}"
TYPES = [("ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར།", 60), ("岗位技能提升培训", 12.5), ("创业培训", 0)]
MONTHS = [("2024-01", 3), ("2024-02", 0), ("2024-03", 18.5), ("2024-04", 41)]


def parse(markup: str) -> ElementTree.Element:
    """The chart as an XML tree (raises if it is not well-formed)."""
    return ElementTree.fromstring(str(markup))


def texts(svg: ElementTree.Element) -> list[str]:
    """Everything a sighted reader sees printed in the chart."""
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


def both_charts(data, **kwargs):
    """A bar chart and a line chart of the same data."""
    return [bar_chart(data, **kwargs), line_chart(data, **kwargs)]


def test_bar_chart_prints_each_label_and_value_with_its_unit():
    svg = parse(bar_chart(TYPES, title="Hours by training type", unit="学时"))

    printed = texts(svg)
    assert "ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར།" in printed and "岗位技能提升培训" in printed
    assert {"60 学时", "12.5 学时", "0 学时"} <= set(printed)
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > widths[2] == 0


def test_charts_name_and_describe_themselves_to_screen_readers():
    for markup in both_charts(TYPES, title="Hours by training type", unit="h"):
        svg = parse(markup)
        title_id, desc_id = svg.get("aria-labelledby").split()

        assert svg.get("role") == "img"
        assert svg.find(f"{SVG}title").get("id") == title_id
        assert svg.find(f"{SVG}title").text == "Hours by training type"
        assert svg.find(f"{SVG}desc").get("id") == desc_id
        assert "岗位技能提升培训: 12.5 h" in svg.find(f"{SVG}desc").text


def test_charts_scale_to_their_container():
    for markup in both_charts(MONTHS, title="Hours", unit="h"):
        svg = parse(markup)

        assert svg.get("width") == "100%"
        assert svg.get("viewBox").startswith("0 0 ")
        assert svg.get("height") is None


def test_script_in_a_label_or_title_is_shown_as_text_not_run():
    attack = "<script>alert(1)</script>"
    for markup in both_charts([(attack, 3), ('" onload="alert(1)', 1)],
                              title=attack, unit="<b>h</b>"):
        svg = parse(markup)

        assert "<script" not in str(markup)
        assert svg.find(f"{SVG}script") is None
        assert svg.find(f"{SVG}title").text == attack
        assert all(not name.startswith("on") for el in svg.iter() for name in el.attrib)


def test_charts_carry_no_inline_styles_scripts_or_event_handlers():
    for markup in both_charts(TYPES, title="Hours", unit="h"):
        svg = parse(markup)

        for element in svg.iter():
            assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
            assert "style" not in element.attrib
            assert not any(name.startswith("on") for name in element.attrib)
            assert "font-family" not in element.attrib  # typefaces come from the site's CSS


def test_empty_data_gives_a_no_data_chart():
    for markup in both_charts([], title="Hours by region", unit="h"):
        svg = parse(markup)

        assert "No data" in texts(svg)
        assert svg.find(f"{SVG}title").text == "Hours by region"
        assert svg.find(f".//{SVG}rect") is None and svg.find(f".//{SVG}polyline") is None


def test_all_zero_values_draw_a_flat_line_and_empty_bars():
    zeros = [("2024-05", 0), ("2024-06", 0)]
    bars, line = (parse(m) for m in both_charts(zeros, title="Hours", unit="h"))

    assert [float(r.get("width")) for r in bars.iter(f"{SVG}rect")] == [0.0, 0.0]
    ys = {p.split(",")[1] for p in line.find(f".//{SVG}polyline").get("points").split()}
    assert len(ys) == 1


def test_line_chart_rises_where_the_hours_rise():
    svg = parse(line_chart(MONTHS, title="Hours by month", unit="h"))
    points = [tuple(map(float, p.split(",")))
              for p in svg.find(f".//{SVG}polyline").get("points").split()]

    xs, ys = zip(*points, strict=True)
    assert list(xs) == sorted(xs)
    assert ys[3] < ys[2] < ys[0] < ys[1]  # SVG's y axis points down
    assert {"2024-01", "2024-04"} <= set(texts(svg))


def test_a_single_month_is_drawn_as_one_point():
    svg = parse(line_chart([("2024-05", 4)], title="Hours", unit="h"))

    assert len(list(svg.iter(f"{SVG}circle"))) == 1


def test_two_charts_on_one_page_do_not_share_ids():
    first = parse(bar_chart(TYPES, title="Hours by type", unit="h"))
    second = parse(bar_chart(TYPES[:2], title="Hours by type", unit="h"))

    assert first.get("aria-labelledby") != second.get("aria-labelledby")


@given(st.lists(st.tuples(st.text(), st.floats(allow_nan=True, allow_infinity=True)),
                max_size=30))
@pytest.mark.parametrize("chart", [bar_chart, line_chart])
def test_any_labels_and_values_even_control_characters_give_well_formed_svg(chart, data):
    assert parse(chart(data, title="Hours\x00", unit="h")).tag == f"{SVG}svg"


def narrow_bar(data, **kwargs):
    return bar_chart(data, narrow=True, **kwargs)


def narrow_line(data, **kwargs):
    return line_chart(data, narrow=True, **kwargs)


@given(st.lists(st.tuples(st.text(), st.floats(allow_nan=True, allow_infinity=True)),
                max_size=30))
@pytest.mark.parametrize("chart", [narrow_bar, narrow_line])
def test_narrow_charts_are_well_formed_whatever_the_data(chart, data):
    assert parse(chart(data, title="Hours\x00", unit="h")).tag == f"{SVG}svg"


def test_on_a_phone_labels_stand_above_their_bars_at_a_readable_size():
    wide, narrow = parse(bar_chart(TYPES, title="t", unit="h")), parse(narrow_bar(TYPES,
                                                                               title="t"))
    assert "chart-narrow" in narrow.get("class") and "chart-wide" in wide.get("class")
    assert narrow.get("viewBox").split()[2] == str(NARROW)
    labels = [t for t in narrow.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    bars = list(narrow.iter(f"{SVG}rect"))
    assert [t.text for t in labels] == [label for label, _ in TYPES]
    for label, bar in zip(labels, bars, strict=True):
        # The label starts where the bar does, less the letters' overhang.
        assert float(label.get("x")) == INSET and float(bar.get("x")) == 0
        # Clear of the label's line, with room for Tibetan letters stacked below it.
        assert float(bar.get("y")) - float(label.get("y")) >= 0.75 * int(label.get("font-size"))
    # Shrunk onto a 360 px phone, a label prints at 13 px, not at 13 * 360 / 640.
    assert int(labels[0].get("font-size")) * 360 / NARROW >= 13


def test_tibetan_readers_get_larger_words_and_rows_to_hold_them(app):
    from flask import g
    from flask_babel import force_locale

    def drawn(locale):
        with app.test_request_context(), force_locale(locale):
            g.pop("lms_locale", None)  # the page's language, as this request chose it
            svg = parse(bar_chart(TYPES, title="t", unit="h", narrow=True))
        labels = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
        return int(labels[0].get("font-size")), float(labels[1].get("y")) - float(
            labels[0].get("y"))

    (zh_size, zh_row), (bo_size, bo_row) = drawn("zh_Hans"), drawn("bo")
    assert zh_size == SIZES["label"] and bo_size == TIBETAN_SIZES["label"] > zh_size
    assert bo_row - zh_row >= bo_size - zh_size


def test_a_long_title_takes_two_lines_on_a_phone_not_the_edge():
    title = "སྦྱོང་བརྡར་རིགས་སོ་སོའི་སློབ་ཚན། ལོ་རེ་རེར། ལས་ཁུངས་སོ་སོར། ས་ཁུལ་སོ་སོར།"
    svg = parse(narrow_line(MONTHS, title=title))
    lines = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-title"]
    assert len(lines) == 2 and "".join(lines).replace(" ", "").startswith("སྦྱོང་བརྡར་")
    assert all(len(line) < len(title) for line in lines)
    assert svg.find(f"{SVG}title").text == title  # whole, for screen readers


def test_responsive_gives_both_drawings_with_their_own_ids():
    markup = responsive(bar_chart, TYPES, title="Hours", unit="h", chart_id="chart-type")
    wide, narrow = (parse(part) for part in str(markup).replace("</svg><svg", "</svg>\n<svg")
                    .split("\n"))
    assert wide.get("aria-labelledby").startswith("chart-type-")
    assert narrow.get("aria-labelledby").startswith("chart-type-narrow-")


def test_a_line_never_starts_with_a_shad_or_a_closing_mark():
    title = "ཀ་" * 15 + "ང་། ཁ་ཁ"
    lines = _wrap(title, 18.5)
    assert len(lines) == 2 and not lines[1].startswith("།") and lines[1].startswith("ང་།")
    chinese = _wrap("各培训机构的学时，按月统计，包括线下培训与职业技能竞赛成绩", 12)
    assert all(len(line) <= 12 for line in chinese) and not chinese[1].startswith("，")


def test_only_a_word_wider_than_a_line_is_broken_inside():
    lines = _wrap("Hours by institution " + "x" * 40, 20)
    assert lines[0] == "Hours by institution" and lines[1].startswith("x")


@pytest.mark.parametrize("narrow", [False, True])
def test_a_long_value_stays_inside_the_chart(narrow):
    svg = parse(bar_chart([("ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར།", 1234), ("创业培训", 5)],
                          title="t", unit="སློབ་ཚོད།", narrow=narrow))
    width = NARROW if narrow else WIDTH
    for value in (t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"):
        x, size = float(value.get("x")), int(value.get("font-size"))
        extent = _em_width(value.text) * size
        if value.get("text-anchor") == "end":
            assert x <= width and x - extent >= 0
        else:
            assert x + extent <= width, value.text


@pytest.mark.parametrize("narrow", [False, True])
def test_a_regions_six_figure_hours_keep_inside_the_axis(narrow):
    months = [("2026-01", 180_000), ("2026-02", 245_500.5), ("2026-03", 90_000)]
    svg = parse(line_chart(months, title="Hours", unit="h", narrow=narrow))
    numbers = [t for t in svg.iter(f"{SVG}text")
               if t.get("class") == "chart-axis" and t.get("text-anchor") == "end"]
    assert any(t.text == "300,000" for t in numbers)
    for t in numbers:  # right-aligned: each starts its width left of its x
        assert float(t.get("x")) - _em_width(t.text) * int(t.get("font-size")) >= 0
    values = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    width = float(svg.get("viewBox").split()[2])
    for t in values:  # the numbers over the points stay inside the chart too
        start = float(t.get("x")) - _em_width(t.text) * int(t.get("font-size")) * {
            "start": 0, "middle": 0.5, "end": 1}[t.get("text-anchor")]
        assert 0 <= start and start + _em_width(t.text) * int(t.get("font-size")) <= width
