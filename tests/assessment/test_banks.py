"""Question banks: import from the web and the command line (preview first), edit, export."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.assessment.cli import cli as quiz_cli
from lms.assessment.gift import parse_gift
from lms.assessment.models import Question, QuestionCategory
from lms.assessment.operations import banks
from lms.extensions import db as database

DATA = Path(__file__).parent / "data"
THANGKA = (DATA / "thangka.gift").read_bytes()
#: Line 1 is fine; the brace opened on line 3 is never closed; line 7 uses no known syntax.
BROKEN = (b"::ok::Azurite is blue.{T}\n\n"
          b"::open::Which mineral is blue?{=Azurite ~Cinnabar\n\n"
          b"::fine::Cinnabar is red.{T}\n\n"
          b"::unknown::Which one?{Azurite ~Cinnabar}\n")


def question_count(course) -> int:
    return database.session.scalar(select(func.count(Question.id)).where(
        Question.course_id == course.id))


@pytest.fixture
def teacher(make):
    instructor = make.instructor()
    course = make.course(instructor=instructor, lessons=1)
    return instructor, course


def upload(client, course, data: bytes, name: str = "quiz.gift", **fields):
    form = {"format": "gift", "language": "", "category": "", "text": "",
            "file": (io.BytesIO(data), name), **fields}
    response = client.post(f"/teach/courses/{course.id}/questions/import", data=form,
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"])


# --- the web import --------------------------------------------------------------------

def test_an_import_shows_counts_per_type_before_anything_is_saved(login_as, teacher):
    instructor, course = teacher
    client = login_as(instructor)
    preview = upload(client, course, THANGKA)
    assert preview.status_code == 200
    counts = dict(re.findall(r'<th scope="row">([^<]+)</th><td[^>]*>(\d+)</td>', preview.text))
    assert counts["Single choice"] == "4" and counts["Numerical"] == "3"
    assert counts["Matching"] == "1" and counts["Total"] == "14"
    assert question_count(course) == 0
    # The file stays on the server: the confirmation form carries nothing but its token.
    confirm = re.search(r'<form method="post" action="[^"]*/import/confirm".*?</form>',
                        preview.text, re.S)[0]
    assert re.findall(r'name="([^"]+)"', confirm) == ["csrf_token"]
    response = client.post(f"/teach/courses/{course.id}/questions/import/confirm")
    assert response.status_code == 302
    assert question_count(course) == 14
    names = database.session.scalars(select(QuestionCategory.name).where(
        QuestionCategory.course_id == course.id)).all()
    assert set(names) == {"ཐང་ཀ་/རས་གཞི་", "唐卡/颜料", "唐卡/用金", "唐卡/开眼"}


def test_a_file_with_errors_imports_nothing_unless_the_valid_ones_are_chosen(login_as, teacher):
    instructor, course = teacher
    client = login_as(instructor)
    preview = upload(client, course, BROKEN)
    assert "Line 3" in preview.text and "Unbalanced braces" in preview.text
    assert "Line 7" in preview.text and "Unknown answer syntax" in preview.text
    assert 'id="import-total">2<' in preview.text
    refused = client.post(f"/teach/courses/{course.id}/questions/import/confirm",
                          follow_redirects=True)
    assert "Nothing was imported" in refused.text and question_count(course) == 0
    client.post(f"/teach/courses/{course.id}/questions/import/confirm",
                data={"import_valid": "y"})
    assert question_count(course) == 2


def test_a_file_over_the_size_limit_is_refused_at_line_zero(login_as, teacher, app):
    instructor, course = teacher
    client = login_as(instructor)
    big = b"::q::Azurite is blue.{T}\n\n" * (app.config["QUIZ_IMPORT_MAX_BYTES"] // 26 + 10)
    assert len(big) > 5 * 2**20
    preview = upload(client, course, big)
    assert f"The file is {len(big)} bytes" in preview.text  # its real size, not what was kept
    assert 'id="import-confirm"' not in preview.text
    response = client.post(f"/teach/courses/{course.id}/questions/import/confirm",
                           data={"import_valid": "y"})
    assert response.status_code == 302 and question_count(course) == 0


def test_tibetan_and_chinese_with_windows_line_endings_and_a_bom_import_whole(login_as,
                                                                              teacher):
    instructor, course = teacher
    client = login_as(instructor)
    windows = b"\xef\xbb\xbf" + THANGKA.replace(b"\n", b"\r\n")
    preview = upload(client, course, windows, name="ཐང་ཀ.txt")
    assert 'id="import-total">14<' in preview.text and "import-errors" not in preview.text
    client.post(f"/teach/courses/{course.id}/questions/import/confirm")
    canvas = database.session.scalar(select(Question).where(Question.name == "རས་གཞི་གྲ་སྒྲིག"))
    assert canvas.text_bo.startswith("ཐང་ཀའི་རས་གཞི་") and canvas.text_zh is None
    assert "\r" not in canvas.text_bo and "\ufeff" not in canvas.name
    pigments = database.session.scalar(select(Question).where(Question.name == "矿物颜料"))
    assert pigments.text_zh.startswith("以下哪些") and pigments.languages == ["zh"]


def test_questions_can_be_pasted_in_aiken_with_a_category_and_language(login_as, teacher):
    instructor, course = teacher
    client = login_as(instructor)
    aiken = "Which mineral is blue?\nA. Azurite\nB. Cinnabar\nANSWER: A\n"
    response = client.post(f"/teach/courses/{course.id}/questions/import", data={
        "format": "aiken", "language": "en", "category": "Pigments", "text": aiken})
    client.get(response.headers["Location"])
    client.post(f"/teach/courses/{course.id}/questions/import/confirm")
    question = database.session.scalar(select(Question).where(Question.course_id == course.id))
    assert question.qtype == "single_choice" and question.category.name == "Pigments"


def test_someone_elses_bank_is_403_and_an_import_needs_a_preview(login_as, make, teacher):
    _instructor, course = teacher
    for outsider in (make.instructor(), make.learner()):
        client = login_as(outsider)
        assert client.get(f"/teach/courses/{course.id}/questions/").status_code == 403
        assert client.post(f"/teach/courses/{course.id}/questions/import/confirm").status_code \
            == 403
    client = login_as(teacher[0])
    response = client.post(f"/teach/courses/{course.id}/questions/import/confirm",
                           follow_redirects=True)
    assert "was not found" in response.text and question_count(course) == 0


# --- the command line --------------------------------------------------------------------

def run(app, *args):
    return app.test_cli_runner().invoke(quiz_cli, ["import-gift", *map(str, args)])


def test_a_dry_run_prints_counts_per_type_and_the_total_without_a_course(app, db, tmp_path):
    path = tmp_path / "ཐང་ཀ.gift"  # Tibetan and Chinese, saved by a Windows editor
    path.write_bytes(b"\xef\xbb\xbf" + THANGKA.replace(b"\n", b"\r\n"))
    result = run(app, path, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines["single_choice"] == "4" and lines["numerical"] == "3"
    assert lines["total"] == "14"


def test_the_command_reports_each_error_with_its_line_and_exits_non_zero(app, db, tmp_path):
    path = tmp_path / "broken.gift"
    path.write_bytes(BROKEN)
    result = run(app, path, "--dry-run")
    assert result.exit_code == 1
    assert "Line 3: Unbalanced braces" in result.stderr
    assert "Line 7: Unknown answer syntax" in result.stderr
    assert "total" in result.stdout and result.stdout.split()[-1] == "2"


def test_the_command_imports_nothing_from_a_file_with_errors(app, make, tmp_path):
    course = make.course()
    path = tmp_path / "broken.gift"
    path.write_bytes(BROKEN)
    result = run(app, path, "--course", course.code)
    assert result.exit_code == 1 and question_count(course) == 0
    result = run(app, path, "--course", course.code, "--skip-invalid")
    assert result.exit_code == 1 and question_count(course) == 2


def test_the_command_imports_into_a_course_and_category(app, make, tmp_path):
    course = make.course()
    path = tmp_path / "plain.gift"
    path.write_bytes("::q1::石青是蓝色的。{T}\r\n\r\n::q2::朱砂是什么颜色？{=红色}\r\n".encode(
        "utf-8-sig"))
    result = run(app, path, "--course", course.code.lower(), "--category", "颜料")
    assert result.exit_code == 0, result.output
    assert "Imported 2" in result.stdout
    questions = database.session.scalars(select(Question).where(
        Question.course_id == course.id)).all()
    assert {q.category.name for q in questions} == {"颜料"}
    assert all(q.text_zh and not q.text_bo for q in questions)


def test_the_command_needs_a_course_unless_dry_run_and_refuses_a_big_file(app, db, tmp_path):
    path = tmp_path / "big.gift"
    path.write_bytes(b"::q::Azurite is blue.{T}\n\n" * (app.config["QUIZ_IMPORT_MAX_BYTES"] // 26
                                                      + 10))
    assert run(app, path).exit_code == 2
    result = run(app, path, "--dry-run")
    assert result.exit_code == 1 and "Line 0" in result.stderr


def test_json_prints_every_parsed_question_for_inspection(app, db, tmp_path):
    path = tmp_path / "thangka.gift"
    path.write_bytes(THANGKA)
    result = run(app, path, "--dry-run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["total"] == 14 and data["errors"] == []
    pigments = next(q for q in data["questions"] if q["name"] == "矿物颜料")
    assert pigments["qtype"] == "multiple_response" and pigments["category"] == "唐卡/颜料"
    assert pigments["answers"][3] == {"text": "丙烯颜料", "fraction": -0.5,
                                      "feedback": "丙烯是现代化学颜料。", "value": None,
                                      "tolerance": None, "range_min": None, "range_max": None,
                                      "match": None}


# --- export, editing, deleting ---------------------------------------------------------------

def test_exporting_a_bank_and_importing_it_again_gives_the_same_questions(make):
    course = make.course()
    original = parse_gift(THANGKA).questions
    banks.import_questions(None, course, original)
    questions = database.session.scalars(select(Question).where(
        Question.course_id == course.id)).all()
    again = parse_gift(banks.export_questions(questions))
    assert again.ok
    key = lambda q: (q.category or "", q.name)  # noqa: E731
    assert sorted(again.questions, key=key) == sorted(original, key=key)


def test_a_category_exports_from_the_web_as_gift(login_as, teacher):
    instructor, course = teacher
    banks.import_questions(None, course, parse_gift(THANGKA).questions)
    database.session.commit()
    gilding = database.session.scalar(select(QuestionCategory).where(
        QuestionCategory.name == "唐卡/用金"))
    response = login_as(instructor).get(
        f"/teach/courses/{course.id}/questions/export?category={gilding.id}")
    assert response.headers["Content-Disposition"].startswith("attachment")
    result = parse_gift(response.data)
    assert result.ok and result.total == 5  # three numerical, two missing-word
    assert {q.category for q in result.questions} == {"唐卡/用金"}


def test_an_instructor_adds_a_chinese_translation_to_a_tibetan_question(login_as, teacher):
    instructor, course = teacher
    question = banks.import_questions(None, course, parse_gift(
        "::མཐིང་::མཐིང་ནི་རྡོ་ཚོན་ཡིན།{=བདེན། ~རྫུན།}").questions)[0]
    database.session.commit()
    client = login_as(instructor)
    right, wrong = question.options
    response = client.post(f"/teach/questions/{question.id}", data={
        "name": "མཐིང་", "category": question.category_id, "text_format": "moodle", "mark": "2",
        "text_bo": question.text_bo, "text_zh": "石青是矿物颜料。",
        f"o{right.id}-text_zh": "对", f"o{wrong.id}-text_zh": "错",
        f"o{right.id}-percent": "100", f"o{wrong.id}-percent": "0"})
    assert response.status_code == 302
    database.session.refresh(question)
    assert question.languages == ["bo", "zh"] and question.mark == 2
    assert right.text_zh == "对" and question.display_lang("zh_Hans") == "zh"


def blue_question(course):
    """A two-option question (Azurite right, Cinnabar wrong) saved in ``course``'s bank."""
    question = banks.import_questions(None, course, parse_gift(
        "::q::Blue?{=Azurite ~Cinnabar}").questions)[0]
    database.session.commit()
    return question


def edit_weights(client, question, mark, right_percent, wrong_percent):
    right, wrong = question.options
    return client.post(f"/teach/questions/{question.id}", data={
        "name": "q", "category": question.category_id, "text_en": "Blue?", "mark": mark,
        f"o{right.id}-percent": right_percent, f"o{wrong.id}-percent": wrong_percent})


def test_weights_that_leave_no_right_answer_are_refused(login_as, teacher):
    instructor, course = teacher
    question = blue_question(course)
    response = edit_weights(login_as(instructor), question, "1", "50", "0")
    assert response.status_code == 200 and "100%" in response.text
    database.session.refresh(question.options[0])
    assert question.options[0].fraction == 1


# --- hostile input ---------------------------------------------------------------------------

def test_a_category_id_that_is_not_a_number_is_a_bad_request(login_as, teacher):
    instructor, course = teacher
    response = login_as(instructor).post(f"/teach/courses/{course.id}/questions/categories",
                                         data={"category_id": "abc", "name": "唐卡"})
    assert response.status_code == 400
    assert database.session.scalar(select(func.count(QuestionCategory.id)).where(
        QuestionCategory.course_id == course.id, QuestionCategory.name == "唐卡")) == 0


@pytest.mark.parametrize("mark", ["sNaN", "NaN", "Infinity", "-inf", "1e2", "1_0"])
def test_points_that_are_not_a_finite_number_are_refused_with_a_message(login_as, teacher,
                                                                        mark):
    instructor, course = teacher
    question = blue_question(course)
    response = login_as(instructor).post(f"/teach/questions/{question.id}", data={
        "name": "q", "category": question.category_id, "text_en": "Blue?", "mark": mark})
    assert response.status_code == 200 and "Not a valid decimal value." in response.text
    database.session.refresh(question)
    assert question.mark == 1


@pytest.mark.parametrize("percent", ["nan", "sNaN", "inf", "1e2", "1_0", "5" * 30])
def test_option_weights_that_are_not_plain_numbers_are_refused_with_a_message(
        login_as, teacher, percent):
    instructor, course = teacher
    question = blue_question(course)
    response = edit_weights(login_as(instructor), question, "1", "100", percent)
    assert response.status_code == 200 and "Enter a number" in response.text
    database.session.refresh(question.options[1])
    assert question.options[1].fraction == 0


def test_option_weights_may_be_typed_in_tibetan_or_full_width_digits(login_as, teacher):
    instructor, course = teacher
    question = blue_question(course)
    response = edit_weights(login_as(instructor), question, "１．５", "༡༠༠", "２５")
    assert response.status_code == 302
    database.session.refresh(question)
    database.session.refresh(question.options[1])
    assert question.options[1].fraction == 0.25 and question.mark == Decimal("1.5")
