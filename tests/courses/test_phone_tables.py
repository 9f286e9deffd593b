"""Staff tables read on a phone, and the course editor's risky buttons, over HTTP.

On a phone a ``table.stack`` shows each row as a card: every data cell carries its column's
name (``data-label``, the header's own words in the reader's language), the cell that names
the row is its header (``th scope=row``) and a cell of actions is ``td.act``. The course
outline asks twice before it unpublishes or archives, and the description editor leads back
to the outline.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, gettext

from lms.core.jobs import run_queued_jobs

TIBETAN = re.compile(r"[\u0f00-\u0fff]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# --- a small DOM -----------------------------------------------------------------------------

class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return " ".join(" ".join(c.text() if isinstance(c, Node) else c
                                 for c in self.children).split())

    def all(self, tag: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    found.append(child)
                found.extend(child.all(tag))
        return found

    def kids(self, *tags: str) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.tag in tags]

    def ancestors(self) -> list[Node]:
        node, out = self.parent, []
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def dom(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def translated(app, msgid: str, locale: str = "bo") -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid)


def stack_table(html: str) -> Node:
    """The page's one table, checked as a phone reads it; returns the table."""
    [table] = dom(html).all("table")
    assert "stack" in table.classes
    headers = [th.text() for th in table.all("thead")[0].all("th")]
    rows = [tr for tr in table.all("tbody")[0].kids("tr")
            if not any("colspan" in c.attrs for c in tr.kids("td", "th"))]
    assert rows, "the table has no rows to check"
    for tr in rows:
        cells = tr.kids("td", "th")
        assert len(cells) == len(headers)
        for header, cell in zip(headers, cells, strict=True):
            if cell.tag == "th":
                assert cell.attrs.get("scope") == "row"  # the card's title
            elif header:
                assert cell.attrs.get("data-label") == header, (header, cell.attrs)
            else:  # a column without a name holds actions, each a full-size target
                assert "act" in cell.classes
    return table


def labels(table: Node) -> list[str]:
    return [td.attrs["data-label"] for td in table.all("td") if "data-label" in td.attrs]


# --- the tables ------------------------------------------------------------------------------

def test_the_review_queue_is_a_stack_table_labelled_in_the_readers_language(app, make,
                                                                           login_as):
    teacher = make.instructor(locale="bo")
    course = make.course(instructor=teacher, lessons=1)
    learner = make.learner(real_name="ཚེ་རིང་སྒྲོལ་མ།")
    make.evidence_video(course=course, learner=learner)
    table = stack_table(login_as(teacher).get("/review/").text)
    [row_header] = table.all("tbody")[0].all("th")
    assert row_header.text() == "ཚེ་རིང་སྒྲོལ་མ།"
    assert labels(table) == [translated(app, "Task"), translated(app, "Sent")]
    assert all(TIBETAN.search(label) for label in labels(table))
    [action] = [td for td in table.all("td") if "act" in td.classes]
    [link] = action.all("a")
    assert link.attrs["href"].startswith("/review/") and link.text() == translated(app, "Review")


def test_the_exports_list_is_a_stack_table_and_its_form_leaves_checks_to_the_server(
        app, make, login_as, db):
    make.completed_course(make.learner(), lessons=1)
    client = login_as(make.regional_admin(locale="bo"))
    asked = client.post("/records/exports/", data={
        "format": "csv", "shape": "entries", "institution_id": "0", "prefecture": "",
        "course_id": "0", "training_type": "", "skill_level": "", "target_group": ""})
    assert asked.status_code == 302
    run_queued_jobs()
    page = client.get("/records/exports/").text
    [form] = dom(page).all("main")[0].all("form")
    assert "novalidate" in form.attrs
    table = stack_table(page)
    assert labels(table) == [translated(app, m) for m in
                             ("Asked at", "File format", "Rows", "Status")]
    assert all(TIBETAN.search(label) for label in labels(table))
    [status] = [td for td in table.all("td") if "act" in td.classes]
    [download] = status.all("a")
    assert download.attrs["href"].endswith("/download")
    assert download.text() == translated(app, "Download")


def test_the_video_library_is_a_stack_table(app, make, login_as):
    teacher = make.instructor(locale="bo")
    video = make.video(institution=teacher.institution)
    table = stack_table(login_as(teacher).get("/teach/videos/").text)
    assert table.all("tbody")[0].all("th")[0].text() == video.title
    assert labels(table) == [translated(app, m) for m in ("State", "Length", "Uploaded")]


def test_the_progress_table_labels_every_column_its_extra_ones_too(app, make, login_as):
    teacher = make.instructor(locale="bo")
    course = make.course(instructor=teacher, lessons=1)
    make.enrolment(make.learner(real_name="པདྨ།"), course)
    table = stack_table(login_as(teacher).get(f"/teach/courses/{course.id}/progress").text)
    assert table.all("tbody")[0].all("th")[0].text().startswith("པདྨ།")
    fixed = [translated(app, m) for m in
             ("Enrolled at", "Lessons completed", "Hours credited", "Last activity")]
    assert labels(table)[:4] == fixed
    assert translated(app, "Video watched") in labels(table)  # a column another module adds
    assert all(TIBETAN.search(label) for label in labels(table))


def test_the_question_bank_is_a_stack_table(app, make, login_as):
    teacher = make.instructor(locale="bo")
    course = make.course(instructor=teacher, lessons=1)
    make.questions(course)
    table = stack_table(login_as(teacher).get(f"/teach/courses/{course.id}/questions/").text)
    assert labels(table)[:3] == [translated(app, m) for m in ("Type", "Languages", "Category")]


@pytest.mark.parametrize("path", ["/review/", "/teach/videos/"])
def test_empty_tables_stay_stack_tables(make, login_as, path):
    page = login_as(make.instructor(locale="bo")).get(path).text
    [table] = dom(page).all("table")
    assert "stack" in table.classes


# --- the course outline and the description editor ---------------------------------------------

def status_forms(page: str) -> dict[str, Node]:
    """The outline's status-changing forms, by action (publish, unpublish, archive)."""
    forms = {}
    for form in dom(page).all("form"):
        found = re.search(r"/teach/courses/\d+/(publish|unpublish|archive)$",
                          form.attrs.get("action", ""))
        if found:
            forms[found.group(1)] = form
    return forms


def test_unpublish_and_archive_take_a_second_deliberate_step(app, make, login_as):
    teacher = make.instructor(locale="bo")
    course = make.course(instructor=teacher)
    page = login_as(teacher).get(f"/teach/courses/{course.id}/outline").text
    forms = status_forms(page)
    assert set(forms) == {"unpublish", "archive"}
    for action, msgid in (("unpublish", "Unpublish"), ("archive", "Archive")):
        # Not a button on the page: a closed <details> to open first, then its button.
        [details] = [n for n in forms[action].ancestors() if n.tag == "details"]
        assert "open" not in details.attrs
        assert translated(app, msgid) in details.kids("summary")[0].text()
        [button] = forms[action].all("button")
        assert button.text() == translated(app, msgid)


def test_publishing_a_draft_stays_one_tap(make, login_as):
    teacher = make.instructor()
    course = make.course(instructor=teacher, published=False)
    forms = status_forms(login_as(teacher).get(f"/teach/courses/{course.id}/outline").text)
    assert set(forms) == {"publish", "archive"}
    assert not any(n.tag == "details" for n in forms["publish"].ancestors())
    assert any(n.tag == "details" for n in forms["archive"].ancestors())


def test_the_reorder_buttons_are_real_buttons(make, login_as):
    teacher = make.instructor()
    course = make.course(instructor=teacher, lessons=2)
    page = dom(login_as(teacher).get(f"/teach/courses/{course.id}/outline").text)
    moves = [f for f in page.all("form") if f.attrs.get("action", "").endswith("/order")]
    assert len(moves) == 2
    for form in moves:
        assert "move" in form.classes
        assert "link" not in form.all("button")[0].classes


def test_the_description_editor_leads_back_to_the_outline(make, login_as):
    teacher = make.instructor(locale="zh_Hans")
    course = make.course(instructor=teacher)
    client = login_as(teacher)
    [crumbs] = [n for n in dom(client.get(f"/teach/courses/{course.id}").text).all("nav")
                if "crumbs" in n.classes]
    [link] = crumbs.all("a")
    assert link.attrs["href"] == f"/teach/courses/{course.id}/outline"
    assert link.text() == course.title
    new = dom(client.get("/teach/courses/new").text)
    assert not [n for n in new.all("nav") if "crumbs" in n.classes]
