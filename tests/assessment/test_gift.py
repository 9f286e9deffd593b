"""Reading GIFT files: every syntax feature, escapes, Unicode and line endings."""

import json
import unicodedata
from pathlib import Path

import pytest

from lms.assessment.gift import parse_gift

pytestmark = pytest.mark.no_database

DATA = Path(__file__).parent / "data"


def only(text: str):
    """Parse text that must hold exactly one valid question, and return it."""
    result = parse_gift(text)
    assert [str(e) for e in result.errors] == []
    assert len(result.questions) == 1
    return result.questions[0]


def answers(question) -> list[tuple[str, float, str]]:
    return [(a.text, a.fraction, a.feedback) for a in question.answers]


# The thangka quiz an instructor would import -------------------------------------------

def test_thangka_quiz_in_tibetan_and_chinese_imports_every_question_without_errors():
    result = parse_gift((DATA / "thangka.gift").read_bytes())

    assert result.ok
    assert result.counts() == {
        "single_choice": 4, "multiple_response": 1, "true_false": 2, "short_answer": 1,
        "numerical": 3, "matching": 1, "essay": 1, "description": 1,
    }
    assert result.total == 14


def test_thangka_quiz_keeps_tibetan_answers_feedback_and_categories():
    questions = {q.name: q for q in parse_gift((DATA / "thangka.gift").read_text()).questions}

    canvas = questions["རས་གཞི་གྲ་སྒྲིག"]
    assert canvas.category == "ཐང་ཀ་/རས་གཞི་"
    assert canvas.line == 7
    assert answers(canvas)[0] == ("སྤྱིན་", 1.0, "ལེགས་སོ། སྤྱིན་གྱིས་ཀ་རག་རས་ལ་འབྱར་བར་བྱེད།")
    assert canvas.general_feedback == "ཀ་རག་དང་སྤྱིན་བསྲེས་ནས་རས་ལ་བྱུགས་ཏེ་སྐམ་རྗེས་ཕྱིས།"

    pigments = questions["矿物颜料"]
    assert pigments.category == "唐卡/颜料"
    assert [a.fraction for a in pigments.answers] == [0.3333333, 0.3333333, 0.3333333, -0.5, -0.5]

    colours = questions["ཚོན་གྱི་མིང་།"]
    assert [(a.text, a.match) for a in colours.answers][:2] == [("མཐིང་", "石青"), ("སྤང་མ་", "石绿")]

    gzi = questions["གཟི།"]
    assert gzi.text == "ལྷ་བྲིས་པས་གསེར་ལ་འོད་ཆགས་པར་ _____ བེད་སྤྱད་དེ་ཕྱིས།"

    assert questions["开眼: 最后一步"].category == "唐卡/开眼"


def test_parsed_questions_serialise_to_json_with_tibetan_kept_readable():
    result = parse_gift((DATA / "thangka.gift").read_text())

    dumped = json.dumps(result.to_dict(), ensure_ascii=False)

    assert "ཀ་རག་" in dumped
    assert json.loads(dumped)["counts"]["numerical"] == 3


def test_json_output_shows_type_text_format_answers_feedback_and_category():
    text = "$CATEGORY: 唐卡\n\n::金::[markdown]**金**几克？{#=12.5:0.5#对 ~#再算}\n\nBad{"
    result = parse_gift(text)

    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))

    assert data["questions"][0] == {
        "qtype": "numerical", "name": "金", "text": "**金**几克？", "text_format": "markdown",
        "answers": [
            {"text": "", "fraction": 1.0, "feedback": "对", "value": 12.5, "tolerance": 0.5,
             "range_min": None, "range_max": None, "match": None},
            {"text": "*", "fraction": 0.0, "feedback": "再算", "value": None,
             "tolerance": None, "range_min": None, "range_max": None, "match": None}],
        "general_feedback": "", "category": "唐卡", "line": 3, "extra": {}}
    assert data["errors"] == [
        {"line": 5, "message": "Unbalanced braces: this { is not closed by a }."}]
    assert (data["counts"], data["total"]) == ({"numerical": 1}, 1)


# Layout: comments, blank lines, titles, formats, categories ------------------------------

def test_comment_lines_are_ignored_even_between_the_answers():
    question = only("// a heading\nWhat binds the gesso?{\n// the right one:\n=glue\n~oil}")

    assert question.text == "What binds the gesso?"
    assert answers(question) == [("glue", 1.0, ""), ("oil", 0.0, "")]


def test_double_slash_inside_a_line_is_text_not_a_comment():
    assert only("See http://example.org {=a ~b}").text == "See http://example.org"


def test_blank_lines_separate_questions_and_each_knows_its_starting_line():
    result = parse_gift("\n\nFirst?{=a ~b}\n\n\n// note\nSecond?{T}\n")

    assert [(q.text, q.line) for q in result.questions] == [("First?", 3), ("Second?", 7)]


def test_question_text_may_span_several_lines():
    question = only("::Kanji::Japanese characters\noriginally came from {=China}")

    assert question.text == "Japanese characters\noriginally came from"


def test_title_names_the_question_and_untitled_questions_are_named_after_their_text():
    assert only("::Gold::Which metal?{=gold ~tin}").name == "Gold"
    assert only("Which metal is burnished?{=gold ~tin}").name == "Which metal is burnished?"


def test_format_prefixes_set_the_text_format_and_unknown_ones_stay_text():
    assert only("[markdown]**Bold** question{=a ~b}").text_format == "markdown"
    assert only("[html]<b>Bold</b> question{=a ~b}").text_format == "html"
    assert only("[plain]Plain{=a ~b}").text_format == "plain"
    assert only("[moodle]Default{=a ~b}").text_format == "moodle"
    assert only("::t::[markdown]*x*{=a ~b}").text == "*x*"
    unknown = only("[latex]x^2{=a ~b}")
    assert (unknown.text_format, unknown.text) == ("moodle", "[latex]x^2")


def test_a_format_tag_on_an_answer_or_feedback_is_dropped_from_its_text():
    question = only("Q{=[html]<b>yes</b>#[plain]good ~[markdown]*no*}")

    assert answers(question) == [("<b>yes</b>", 1.0, "good"), ("*no*", 0.0, "")]


def test_category_lines_apply_to_the_questions_that_follow():
    text = ("$CATEGORY: $course$/top/ཐང་ཀ་/ཚོན།\n\nA?{=a ~b}\n\nB?{T}\n\n"
            "$CATEGORY: 唐卡\nC?{F}")
    result = parse_gift(text)

    assert [q.category for q in result.questions] == ["ཐང་ཀ་/ཚོན།", "ཐང་ཀ་/ཚོན།", "唐卡"]
    assert result.questions[2].line == 8


def test_questions_before_any_category_line_have_no_category():
    assert only("A?{T}").category is None


# Question types -------------------------------------------------------------------------

def test_single_choice_has_one_correct_answer_and_feedback_per_answer():
    question = only("Colour?{=yellow # right; good!\n~red # wrong, it's yellow}")

    assert question.qtype == "single_choice"
    assert answers(question) == [("yellow", 1.0, "right; good!"),
                                 ("red", 0.0, "wrong, it's yellow")]


def test_single_choice_may_give_partial_credit_to_wrong_answers():
    question = only("From {~Jerusalem ~%25%Bethlehem ~%50%Galilee =Nazareth}.")

    assert [a.fraction for a in question.answers] == [0.0, 0.25, 0.5, 1.0]


def test_multiple_response_takes_negative_and_decimal_weights():
    question = only("Pigments?{~%33.33333%石青 ~%33.33333%石绿 ~%33.33334%朱砂 "
                    "~%-33.33333%丙烯 ~%-100%塑料}")

    assert question.qtype == "multiple_response"
    assert [a.fraction for a in question.answers] == [0.3333333, 0.3333333, 0.3333334,
                                                      -0.3333333, -1.0]


def test_missing_word_question_puts_a_blank_where_the_answers_were():
    question = only("Grant is {~buried =entombed ~living} in Grant's tomb.")

    assert question.text == "Grant is _____ in Grant's tomb."
    assert question.extra == {"missing_word": True}


def test_answers_after_the_text_add_no_blank():
    question = only("Who is buried in Grant's tomb?{=no one ~Grant}")

    assert question.text == "Who is buried in Grant's tomb?"
    assert question.extra == {}


def test_true_false_accepts_every_spelling_and_both_feedbacks():
    for written, correct in (("T", True), ("TRUE", True), ("F", False), ("FALSE", False)):
        question = only(f"The sun rises in the east.{{{written}}}")
        assert question.qtype == "true_false"
        assert [(a.text, a.fraction) for a in question.answers] == [
            ("true", 1.0 if correct else 0.0), ("false", 0.0 if correct else 1.0)]


def test_true_false_first_feedback_is_for_the_wrong_answer_and_second_for_the_right():
    question = only("མཐིང་ནི་ས་ཚོན་ཡིན།{T#མ་རེད།#ལེགས་སོ།}")

    assert answers(question) == [("true", 1.0, "ལེགས་སོ།"), ("false", 0.0, "མ་རེད།")]


def test_short_answer_accepts_several_answers_with_weights():
    question = only("Painter?{=ལྷ་བྲིས་པ་ =%50%རི་མོ་མཁན་#close =%-10%nobody}")

    assert question.qtype == "short_answer"
    assert answers(question) == [("ལྷ་བྲིས་པ་", 1.0, ""), ("རི་མོ་མཁན་", 0.5, "close"),
                                 ("nobody", -0.1, "")]


def test_numerical_answer_with_a_tolerance():
    answer = only("When was Grant born?{#1822:5}").answers[0]

    assert (answer.value, answer.tolerance, answer.fraction) == (1822.0, 5.0, 1.0)


def test_numerical_answer_without_tolerance_must_be_exact():
    answer = only("2 + 2?{#4}").answers[0]

    assert (answer.value, answer.tolerance) == (4.0, 0.0)


def test_numerical_range_is_kept_as_its_two_ends():
    answer = only("Pi?{#3.141..3.142}").answers[0]

    assert (answer.range_min, answer.range_max, answer.value) == (3.141, 3.142, None)


def test_numerical_alternatives_give_partial_credit_and_feedback_for_any_other_answer():
    question = only("Grant?{#\n=1822:0 #Correct\n=%50%1822:2 #Close\n~#Way off}")

    assert [(a.value, a.tolerance, a.fraction, a.feedback) for a in question.answers[:2]] == [
        (1822.0, 0.0, 1.0, "Correct"), (1822.0, 2.0, 0.5, "Close")]
    assert answers(question)[2] == ("*", 0.0, "Way off")


def test_numerical_accepts_negative_numbers_and_exponents():
    question = only("T?{#=-5..-3 =%50%1e3:2.5e1}")

    assert (question.answers[0].range_min, question.answers[0].range_max) == (-5.0, -3.0)
    assert (question.answers[1].value, question.answers[1].tolerance) == (1000.0, 25.0)


def test_matching_pairs_items_with_their_matches_and_keeps_distractors():
    question = only("Match.{\n=མཐིང་ -> 石青\n=མཚལ་->朱砂\n= -> 雌黄\n}")

    assert question.qtype == "matching"
    assert [(a.text, a.match) for a in question.answers] == [
        ("མཐིང་", "石青"), ("མཚལ་", "朱砂"), ("", "雌黄")]


def test_matching_match_may_itself_contain_an_arrow():
    question = only("Order?{=first -> sketch -> colour =last -> eyes}")

    assert question.answers[0].match == "sketch -> colour"


def test_essay_has_no_answers_and_may_have_general_feedback():
    essay = only("::Q8:: How are you? {}")
    assert (essay.qtype, essay.answers, essay.text) == ("essay", [], "How are you?")

    assert only("Describe the canvas.{####Mention the glue.}").general_feedback == \
        "Mention the glue."


def test_text_without_braces_is_a_description():
    question = only("::Intro::The next questions are about pigments.")

    assert (question.qtype, question.text, question.answers) == (
        "description", "The next questions are about pigments.", [])


def test_general_feedback_follows_four_hashes_in_any_question_type():
    assert only("Q{=a ~b ####Because.}").general_feedback == "Because."
    assert only("Q{T#no#yes####Because.}").general_feedback == "Because."
    assert only("Q{#4####Because.}").general_feedback == "Because."


# Escapes and Unicode --------------------------------------------------------------------

def test_every_control_character_can_be_escaped():
    question = only(r"::a\:b::Which is \{not\} special\?{=\\#\~ \= \# \: ~\~~\=}")

    assert question.name == "a:b"
    assert question.text == r"Which is {not} special\?"
    assert answers(question) == [("\\", 1.0, "~ = # :"), ("~", 0.0, ""), ("=", 0.0, "")]


def test_escaped_newline_becomes_a_line_break():
    question = only(r"Line one\nline two{=a ~b}")

    assert question.text == "Line one\nline two"


def test_a_doubled_backslash_before_a_brace_leaves_the_brace_active():
    question = only(r"Path C:\\{=a ~b}")

    assert question.text == "Path C:\\"


def test_tibetan_written_with_precomposed_or_reordered_marks_is_stored_in_nfc():
    precomposed = "\u0f43"  # གྷ as one code point, which NFC always decomposes
    reordered = "ཀ\u0f72\u0f71"  # vowel signs typed in the non-canonical order
    question = only(f"{precomposed}?{{={reordered} ~ཁ}}")

    assert question.text == "\u0f42\u0fb7?"
    assert question.answers[0].text == "ཀ\u0f71\u0f72"
    assert unicodedata.is_normalized("NFC", question.answers[0].text)


def test_windows_line_endings_and_a_byte_order_mark_are_read_like_plain_utf8():
    plain = (DATA / "thangka.gift").read_text(encoding="utf-8")
    windows = "\ufeff" + plain.replace("\n", "\r\n")

    from_bytes = parse_gift(windows.encode("utf-8"))
    from_text = parse_gift(windows)

    assert from_bytes.ok and from_text.ok
    assert from_bytes.questions == parse_gift(plain).questions == from_text.questions
    assert [q.line for q in from_bytes.questions] == [q.line for q in parse_gift(plain).questions]
    assert from_bytes.questions[0].name == "རས་གཞི་གྲ་སྒྲིག"


def test_old_mac_line_endings_and_utf16_files_are_read_too():
    text = "A?{=a ~b}\n\nB?{T}"

    assert parse_gift(text.replace("\n", "\r")).total == 2
    assert parse_gift(text.encode("utf-16")).total == 2


def test_a_file_that_is_not_utf8_is_one_error_naming_the_first_bad_line():
    data = "ཐང་ཀ?{T}\n\n".encode() + "唐卡?{T}".encode("gbk")

    result = parse_gift(data)

    assert result.questions == []
    assert [(e.line, str(e.message)) for e in result.errors] == [
        (3, "The file is not UTF-8 text. Save it as UTF-8 and import it again.")]
