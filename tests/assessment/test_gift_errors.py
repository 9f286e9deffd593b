"""Reading GIFT files that are broken or too large: each problem an error at its line."""

from flask_babel import LazyString
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.assessment.formats import DEFAULT_MAX_BYTES, ParseResult
from lms.assessment.gift import parse_gift


def error_lines(text: str) -> list[tuple[int, str]]:
    """Parse text and return each error as (line, English message)."""
    return [(e.line, str(e.message)) for e in parse_gift(text).errors]


def test_a_file_over_five_megabytes_is_refused_with_one_error_at_line_zero(tmp_path):
    question = "ཐང་ཀའི་རས་གཞི་ལ་ག་རེ་བྱུགས་སམ།{=ཀ་རག་ ~ཚྭ་}\n\n".encode()
    path = tmp_path / "big.gift"
    path.write_bytes(question * (DEFAULT_MAX_BYTES // len(question) + 1))

    result = parse_gift(path.read_bytes())

    assert result.questions == []
    assert [e.line for e in result.errors] == [0]
    assert str(DEFAULT_MAX_BYTES) in str(result.errors[0].message)


def test_the_size_limit_counts_bytes_and_accepts_a_file_exactly_at_it():
    text = "唐卡?{T}"
    size = len(text.encode())

    assert parse_gift(text, max_bytes=size).total == 1
    assert parse_gift(text, max_bytes=size - 1).errors[0].line == 0


# Errors: one per broken question, at its line, and parsing goes on -----------------------

def test_an_unclosed_brace_is_reported_on_the_line_where_it_opens():
    assert error_lines("Good?{=a ~b}\n\n::q::First line\nsecond {=a\n~b\n") == [
        (4, "Unbalanced braces: this { is not closed by a }.")]


def test_a_closing_brace_without_an_opening_one_is_reported_on_its_line():
    assert error_lines("Broken\n=a ~b}") == [(2, "Unbalanced braces: this } has no { before it.")]


def test_a_brace_opened_inside_an_answer_block_is_unbalanced():
    assert error_lines("Two questions glued {=a\nSecond {=b}") == [
        (1, "Unbalanced braces: this { is not closed by a }.")]


def test_two_answer_blocks_in_one_question_are_an_error():
    assert error_lines("A {=a ~b} and\n{=c ~d}") == [
        (2, "A question can have only one {…} answer block.")]


def test_text_before_the_first_answer_marker_is_unknown_syntax():
    message = ("Unknown answer syntax: each answer starts with = or ~, and a true/false "
               "answer is T, TRUE, F or FALSE.")
    assert error_lines("Q{\nno marker ~a =b}") == [(2, message)]
    assert error_lines("Q{true}") == [(1, message)]


def test_a_matching_pair_without_an_arrow_is_reported_on_its_line():
    assert error_lines("Match{\n=a -> b\n=c d\n=e -> f}") == [
        (3, "A matching pair needs -> between the item and its match.")]


def test_a_matching_question_needs_two_pairs():
    assert error_lines("Match{=a -> b = -> c}") == [
        (1, "A matching question needs at least two pairs.")]


def test_a_bad_number_is_reported_on_its_line():
    assert error_lines("Year?{#\n=1822:0\n=%50%18x2:2}") == [(3, "“18x2” is not a number.")]
    assert error_lines("Pi?{#3.14:abc}") == [(1, "“abc” is not a number.")]
    assert error_lines("Pi?{#}") == [(1, "A numerical question needs at least one number.")]


def test_a_number_too_large_to_hold_is_reported_on_its_line():
    # float("1e999") is infinity: an infinite tolerance would accept every answer.
    assert error_lines("Pi?{#3.14:1e999}") == [(1, "“1e999” is too large a number.")]
    assert error_lines("Year?{#\n=-1E400..1822}") == [(2, "“-1E400” is too large a number.")]
    assert error_lines("Pi?{#1e999}") == [(1, "“1e999” is too large a number.")]


def test_a_backwards_range_and_a_negative_tolerance_are_errors():
    assert error_lines("Pi?{#3.2..3.1}") == [(1, "The range 3.2..3.1 runs backwards.")]
    assert error_lines("Pi?{#3.1:-1}") == [(1, "A tolerance cannot be negative.")]


def test_weights_must_be_numbers_between_minus_100_and_100():
    assert error_lines("Q{\n=a\n~%150%b}") == [(3, "The weight 150% is outside -100% to 100%.")]
    assert error_lines("Q{=a ~%-100.5%b}") == [(1, "The weight -100.5% is outside -100% to 100%.")]
    assert error_lines("Q{=a ~%half%b}") == [
        (1, "Malformed weight: write it as %50% or %-33.33333%.")]


def test_a_single_choice_without_a_correct_answer_is_an_error():
    expected = [(1, "No answer gets full marks: mark the correct one with = or %100%.")]
    assert error_lines("Q{=%50%a ~b}") == expected
    assert error_lines("Q{=%50%a =%50%b}") == expected
    assert error_lines("Q{#=%50%4}") == expected


def test_multiple_response_weights_must_add_up_to_100_percent():
    assert error_lines("Q{~%50%a ~%20%b ~%-50%c}") == [
        (1, "The positive weights of a multiple-response question add up to 70%, not 100%.")]


def test_a_choice_question_needs_two_answers_with_text():
    assert error_lines("Q{~a}") == [(1, "A choice question needs at least two answers.")]
    assert error_lines("Q{=a ~ ~b}") == [(1, "An answer has no text.")]


def test_a_question_without_text_is_an_error():
    assert error_lines("::name::{=a ~b}") == [(1, "The question has no text.")]


def test_an_unclosed_title_is_an_error():
    assert error_lines("::name Who?{=a ~b}") == [(1, "The question title is not closed with ::.")]


def test_parsing_goes_on_after_a_broken_question():
    result = parse_gift("First?{=a ~b}\n\nBroken {=a\n\nThird?{T}\n\nFourth {#x}\n\nFifth?{F}")

    assert [q.text for q in result.questions] == ["First?", "Third?", "Fifth?"]
    assert [e.line for e in result.errors] == [3, 7]
    assert not result.ok


def test_error_messages_are_translatable_lazy_strings_with_named_values():
    error = parse_gift("Q{=a ~%150%b}").errors[0]

    assert isinstance(error.message, LazyString)
    assert error.message._args == ("The weight %(weight)s%% is outside -100%% to 100%%.",)
    assert error.message._kwargs == {"weight": "150"}
    assert str(error) == "Line 1: The weight 150% is outside -100% to 100%."


gift_like_text = st.lists(
    st.sampled_from(list("~=#{}:\\%->[]$TF.0123456789 \n\r\tab") +
                    ["ཀ", "་", "།", "唐", "卡", "//", "::", "####", "{#", "\ufeff", "\n\n",
                     "$CATEGORY:", "[html]", "\u0f43"]),
    max_size=120,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(gift_like_text)
def test_no_input_makes_the_parser_raise_and_every_error_points_into_the_file(text):
    result = parse_gift(text)

    assert isinstance(result, ParseResult)
    line_count = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert all(0 <= e.line <= line_count for e in result.errors)
    assert all(0 < q.line <= line_count for q in result.questions)
    assert all(q.text for q in result.questions)
