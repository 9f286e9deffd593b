"""The site's frame: languages, error pages, dashboards and page weight."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.users.models import Role

LOGIN_LABEL = {"bo": "ནང་འཛུལ།", "zh_Hans": "登录", "en": "Log in"}


def page_weight(client, html: str) -> int:
    """Bytes of a page's HTML plus the CSS and JavaScript it links to."""
    total = len(html.encode())
    for ref in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html):
        total += len(client.get(ref).data)
    return total


@pytest.mark.parametrize("locale", ["bo", "zh_Hans", "en"])
def test_the_language_switcher_changes_the_interface(client, locale):
    response = client.post("/language", data={"locale": locale, "next": "/account/login"})
    assert response.headers["Location"] == "/account/login"
    page = client.get("/account/login").text
    assert LOGIN_LABEL[locale] in page
    assert f'<html lang="{locale.replace("_", "-")}"' in page


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    page = client.get("/account/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert LOGIN_LABEL["zh_Hans"] in page


def test_the_switcher_cookie_beats_the_browser_and_the_users_setting_beats_both(login_as, make):
    user = make.learner(locale="en")
    client = login_as(user)
    client.set_cookie("lms_lang", "zh_Hans", domain="localhost")
    page = client.get("/dashboard", headers={"Accept-Language": "bo"}).text
    assert "Dashboard" in page  # the account says English


def test_switching_language_while_logged_in_saves_it_to_the_account(login_as, make):
    user = make.learner(locale="en")
    login_as(user).post("/language", data={"locale": "bo", "next": "/dashboard"})
    assert user.locale == "bo"


def test_an_unknown_language_is_refused_politely(client):
    response = client.post("/language", data={"locale": "fr", "next": "/"})
    assert response.status_code == 302
    assert "not available" in client.get("/").text


def test_the_language_switch_never_redirects_off_site(client):
    response = client.post("/language", data={"locale": "bo", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("locale, text", [
    ("bo", "ཤོག་ངོས་འདི་མེད།"), ("zh_Hans", "此页面不存在"), ("en", "This page does not exist")])
def test_error_pages_speak_the_readers_language(client, locale, text):
    client.set_cookie("lms_lang", locale, domain="localhost")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert text in response.text


def test_forbidden_page_is_translated(login_as, make):
    client = login_as(make.learner(locale="zh_Hans"))
    response = client.get("/admin/users/")
    assert response.status_code == 403 and "权限" in response.text


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("locale", ["bo", "zh_Hans", "en"])
def test_every_role_has_a_dashboard_in_every_language(login_as, make, role, locale):
    client = login_as(make.user(role, locale=locale))
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert f'lang="{locale.replace("_", "-")}"' in response.text


@pytest.mark.parametrize("path", ["/", "/account/login", "/account/register"])
def test_public_pages_weigh_under_60_kb(client, path):
    response = client.get(path)
    assert page_weight(client, response.text) < 60_000


def test_static_files_are_cached_for_a_year_when_versioned(client):
    html = client.get("/").text
    css = re.search(r'href="(/static/css/yonten\.css\?v=[0-9a-f]+)"', html).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_pages_work_without_javascript(client):
    html = client.get("/account/register").text
    assert "<script" not in html
    assert 'method="post"' in html


def test_a_page_with_a_file_input_labels_it_in_the_readers_language(client):
    client.get("/language/zh_Hans")
    html = client.get("/verify/").text
    assert 'type="file"' in html
    assert "js/file-picker.js" in html
    assert 'data-choose="选择文件" data-none="未选择文件"' in html
    assert "file-picker.js" not in client.get("/courses/").text


@pytest.mark.parametrize("locale, shown", [
    ("zh_Hans", "画布准备：40%"), ("bo", "ཐང་ཀ 40%"), ("en", "Canvas: 40%"),
])
def test_a_label_and_its_value_take_the_readers_punctuation(app, locale, shown):
    from flask_babel import force_locale

    from lms.core.i18n import labelled

    label = {"zh_Hans": "画布准备", "bo": "ཐང་ཀ", "en": "Canvas"}[locale]
    with app.test_request_context(), force_locale(locale):
        assert labelled(label, "40%") == shown


@pytest.mark.parametrize("locale, label, items, shown", [
    ("bo", "རིགས།", ["དབང་པོ་སྐྱོན་ཅན།", "མཐོ་སློབ་ཐོན་པ།"],
     "རིགས། དབང་པོ་སྐྱོན་ཅན། མཐོ་སློབ་ཐོན་པ།"),
    ("bo", "ཕྲེང་།", ["༡༢"], "ཕྲེང་། ༡༢"),
    ("bo", "ཡིག་ཆའི་རྣམ་གཞག", ["CSV"], "ཡིག་ཆའི་རྣམ་གཞག CSV"),  # no shad after ག
    ("bo", "ཚེ་རིང", ["ཐང་ཀ", "ལྷ་ཁང"], "ཚེ་རིང་། ཐང་ཀ ལྷ་ཁང"),  # ང་།, and none after ཀ
    ("bo", "སློབ་མ་", ["ཀ"], "སློབ་མ། ཀ"),
    ("bo", "ལོ་རྒྱུས༎", ["x"], "ལོ་རྒྱུས༎ x"),
    ("bo", "mystery", ["a", "b"], "mystery: a, b"),
    ("zh_Hans", "群体", ["残疾人", "高校毕业生"], "群体：残疾人、高校毕业生"),
    ("zh_Hans", "ཐང་ཀ་འབྲི་རྒྱུ།", ["唐卡"], "ཐང་ཀ་འབྲི་རྒྱུ།：唐卡"),  # Tibetan titles keep their shad
    ("en", "Groups", ["a", "b", "c"], "Groups: a, b, c"),
])
def test_labels_and_lists_end_tibetan_phrases_as_the_glossary_says(app, locale, label, items,
                                                                    shown):
    from flask_babel import force_locale

    from lms.core.i18n import labelled, listed

    with app.test_request_context(), force_locale(locale):
        assert labelled(label, listed(items)) == shown


def test_dates_on_pages_are_time_elements_kept_on_one_line(login_as, make, app):
    instructor = make.instructor()
    make.video(institution=instructor.institution, uploader=instructor)
    html = login_as(instructor).get("/teach/videos/").get_data(as_text=True)
    found = re.search(r'<time datetime="(\d{4}-\d\d-\d\dT[^"]+)">(\d{4}-\d\d-\d\d)</time>', html)
    assert found and found.group(1).startswith(found.group(2)[:4])
    css = Path(app.static_folder, "css", "yonten.css").read_text()
    assert re.search(r"^time \{ white-space: nowrap; \}", css, re.M)
