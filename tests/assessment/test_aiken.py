"""Reading Aiken files: single-choice questions, errors with their lines, awkward input."""

from pathlib import Path

from lms.assessment.aiken import parse_aiken
from lms.assessment.formats import DEFAULT_MAX_BYTES

DATA = Path(__file__).parent / "data"


def error_lines(text: str) -> list[tuple[int, str]]:
    """Parse text and return each error as (line, English message)."""
    return [(e.line, str(e.message)) for e in parse_aiken(text).errors]


def test_thangka_file_in_tibetan_and_chinese_gives_single_choice_questions():
    result = parse_aiken((DATA / "thangka.txt").read_bytes())

    assert result.ok
    assert result.counts() == {"single_choice": 3}
    canvas, mineral, last = result.questions
    assert canvas.text == "ཐང་ཀའི་རས་གཞི་གྲ་སྒྲིག་བྱེད་སྐབས་ཀ་རག་དང་མཉམ་དུ་ག་རེ་བསྲེས་དགོས་སམ།"
    assert [(a.text, a.fraction) for a in canvas.answers] == [
        ("སྤྱིན་", 1.0), ("འབྲུ་མར་", 0.0), ("ཚྭ་", 0.0)]
    assert (canvas.line, mineral.line, last.line) == (1, 7, 13)
    assert canvas.text_format == "plain"


def test_full_width_punctuation_typed_with_a_chinese_input_method_is_accepted():
    text = "唐卡的蓝色来自？\nA．蓝铜矿\nB）孔雀石\nC、赤铁矿\nANSWER：A"

    question = parse_aiken(text).questions[0]

    assert [(a.text, a.fraction) for a in question.answers] == [
        ("蓝铜矿", 1.0), ("孔雀石", 0.0), ("赤铁矿", 0.0)]


def test_question_text_may_run_over_several_lines_until_the_first_option():
    question = parse_aiken("Which stage\nof a thangka is last?\nA) Sketch\nB) Eyes\nANSWER: B"
                           ).questions[0]

    assert question.text == "Which stage\nof a thangka is last?"
    assert question.name == "Which stage of a thangka is last?"
    assert question.answers[1].fraction == 1.0


def test_options_may_have_no_space_after_the_letter_and_the_answer_letter_any_case():
    question = parse_aiken("Q?\nA)yes\nB.no\nANSWER: a").questions[0]

    assert [(a.text, a.fraction) for a in question.answers] == [("yes", 1.0), ("no", 0.0)]


def test_the_correct_answer_is_found_by_its_letter_not_its_position():
    question = parse_aiken("Q?\nA. one\nB. two\nD. four\nANSWER: D").questions[0]

    assert [a.fraction for a in question.answers] == [0.0, 0.0, 1.0]


def test_windows_line_endings_and_a_byte_order_mark_are_read_like_plain_utf8():
    plain = (DATA / "thangka.txt").read_text(encoding="utf-8")
    windows = ("\ufeff" + plain.replace("\n", "\r\n")).encode("utf-8")

    result = parse_aiken(windows)

    assert result.ok
    assert result.questions == parse_aiken(plain).questions
    assert result.questions[0].text.startswith("ཐང་ཀའི་")


def test_tibetan_options_are_stored_in_nfc():
    question = parse_aiken("\u0f43?\nA. ཀ\u0f72\u0f71\nB. ཁ\nANSWER: A").questions[0]

    assert question.text == "\u0f42\u0fb7?"
    assert question.answers[0].text == "ཀ\u0f71\u0f72"


def test_a_question_without_an_answer_line_is_reported_at_its_first_line_and_parsing_goes_on():
    result = parse_aiken("First?\nA. a\nB. b\n\nSecond?\nA. a\nB. b\nANSWER: B")

    assert [(e.line, str(e.message)) for e in result.errors] == [
        (1, "The question has no ANSWER: line after its options.")]
    assert [q.text for q in result.questions] == ["Second?"]


def test_a_missing_answer_line_at_the_end_of_the_file_is_reported():
    assert error_lines("Q?\nA. a\nB. b\n") == [
        (1, "The question has no ANSWER: line after its options.")]


def test_an_answer_naming_a_missing_option_is_reported_on_the_answer_line():
    assert error_lines("Q?\nA. a\nB. b\nANSWER: E") == [
        (4, "The answer E is not one of the options.")]


def test_an_answer_line_without_one_letter_is_reported_on_its_line():
    assert error_lines("Q?\nA. a\nB. b\nANSWER: AB") == [
        (4, "The ANSWER: line must name one option letter, such as ANSWER: B.")]


def test_options_or_answer_before_any_question_are_reported_on_their_lines():
    assert error_lines("A. a\nANSWER: A\nQ?\nA. a\nB. b\nANSWER: A") == [
        (1, "This line belongs to a question, but no question text comes before it."),
        (2, "This line belongs to a question, but no question text comes before it.")]


def test_a_question_needs_two_options():
    assert error_lines("\n\nQ?\nA. only\nANSWER: A") == [
        (3, "A question needs at least two options before its ANSWER: line.")]


def test_duplicate_or_empty_options_are_reported_on_their_lines():
    assert error_lines("Q?\nA. a\nA. again\nANSWER: A") == [(3, "Option A appears twice.")]
    assert error_lines("Q?\nA. a\nB.\nANSWER: A") == [(3, "Option B has no text.")]


def test_a_file_over_five_megabytes_is_refused_with_one_error_at_line_zero():
    question = "唐卡的蓝色来自？\nA. 蓝铜矿\nB. 孔雀石\nANSWER: A\n\n".encode()
    data = question * (DEFAULT_MAX_BYTES // len(question) + 1)

    result = parse_aiken(data)

    assert result.questions == []
    assert [e.line for e in result.errors] == [0]
