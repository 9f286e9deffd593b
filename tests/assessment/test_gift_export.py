"""Writing GIFT: what the file looks like, and that reading it back gives the same questions."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.assessment.formats import ParsedAnswer, ParsedQuestion, clean_text
from lms.assessment.gift import parse_gift
from lms.assessment.gift_export import export_gift

pytestmark = pytest.mark.no_database

DATA = Path(__file__).parent / "data"


def round_trip(questions: list[ParsedQuestion]) -> list[ParsedQuestion]:
    """Export questions, read the file back and return what was read, failing on any error."""
    result = parse_gift(export_gift(questions))
    assert [str(e) for e in result.errors] == []
    return result.questions


def test_thangka_quiz_survives_export_and_import_unchanged():
    questions = parse_gift((DATA / "thangka.gift").read_text()).questions

    assert round_trip(questions) == questions


def test_exported_file_reads_like_hand_written_gift():
    question = ParsedQuestion("single_choice", "རས་གཞི།", "ཀ་རག་དང་ག་རེ་བསྲེས་སམ།", answers=[
        ParsedAnswer("སྤྱིན་", 1.0, "ལེགས་སོ།"), ParsedAnswer("ཚྭ་", 0.0),
        ParsedAnswer("མར་", -0.5)], general_feedback="སྤྱིན་ནི་ཐང་ཀའི་རས་ལ་དགོས།",
        category="ཐང་ཀ་")

    assert export_gift([question]) == (
        "$CATEGORY: $course$/top/ཐང་ཀ་\n\n"
        "::རས་གཞི།::ཀ་རག་དང་ག་རེ་བསྲེས་སམ།{\n"
        "\t=སྤྱིན་#ལེགས་སོ།\n"
        "\t~ཚྭ་\n"
        "\t~%-50%མར་\n"
        "\t####སྤྱིན་ནི་ཐང་ཀའི་རས་ལ་དགོས།\n"
        "}\n")


def test_every_special_character_is_escaped_in_the_file():
    question = ParsedQuestion("short_answer", "a::b", "Type {x} = ~y # z\\ and\na newline",
                              answers=[ParsedAnswer("{=~#:}\\", 1.0, "f#b")])

    text = export_gift([question])

    assert text == ("::a\\:\\:b::Type \\{x\\} \\= \\~y \\# z\\\\ and\\na newline{\n"
                    "\t=%100%\\{\\=\\~\\#\\:\\}\\\\#f\\#b\n}\n")
    assert round_trip([question]) == [question]


def test_each_question_type_round_trips():
    questions = [
        ParsedQuestion("single_choice", "sc", "Colour?", "html", [
            ParsedAnswer("yellow", 1.0, "good"), ParsedAnswer("red", 0.0, "no"),
            ParsedAnswer("ochre", 0.3333333)], "Between orange and green."),
        ParsedQuestion("multiple_response", "mr", "唐卡常用的矿物颜料？", "markdown", [
            ParsedAnswer("石青", 0.3333333), ParsedAnswer("石绿", 0.3333333),
            ParsedAnswer("朱砂", 0.3333334), ParsedAnswer("丙烯", -0.3333333, "化学颜料")]),
        ParsedQuestion("true_false", "tf", "མཐིང་ནི་ས་ཚོན་ཡིན།", answers=[
            ParsedAnswer("true", 1.0, "ལེགས་སོ།"), ParsedAnswer("false", 0.0, "མ་རེད།")]),
        ParsedQuestion("true_false", "tf2", "False one", answers=[
            ParsedAnswer("true", 0.0), ParsedAnswer("false", 1.0, "right")]),
        ParsedQuestion("short_answer", "sa", "Painter?", "plain", [
            ParsedAnswer("ལྷ་བྲིས་པ་", 1.0), ParsedAnswer("རི་མོ་མཁན་", 0.5, "close")]),
        ParsedQuestion("numerical", "num", "Gold for five?", answers=[
            ParsedAnswer("", 1.0, "exact", value=12.5, tolerance=0.0),
            ParsedAnswer("", 0.5, value=12.5, tolerance=1.0),
            ParsedAnswer("", 0.25, range_min=-3.5, range_max=1e20),
            ParsedAnswer("*", 0.0, "2.5 × 5")]),
        ParsedQuestion("matching", "m", "Match.", answers=[
            ParsedAnswer("མཐིང་", 1.0, match="石青"), ParsedAnswer("མཚལ་", 1.0, match="朱砂"),
            ParsedAnswer("", 1.0, match="雌黄")]),
        ParsedQuestion("essay", "e", "Describe the canvas.", general_feedback="Glue, chalk."),
        ParsedQuestion("description", "d", "Questions on pigments follow."),
    ]

    assert round_trip(questions) == questions


def test_missing_word_question_is_written_with_its_answers_in_place():
    question = parse_gift("Grant is {~buried =entombed} in Grant's tomb.").questions[0]

    text = export_gift([question])

    assert text.startswith("::Grant is _____ in Grant's tomb.::Grant is {\n")
    assert text.endswith("} in Grant's tomb.\n")
    assert round_trip([question]) == [question]


def test_texts_that_look_like_syntax_keep_their_meaning():
    question = ParsedQuestion("short_answer", "n", "[html] is not a tag here", answers=[
        ParsedAnswer("%50% off", 1.0), ParsedAnswer("sketch -> colour", 0.5),
        ParsedAnswer("[plain]x", 0.25)])

    assert round_trip([question]) == [question]


def test_single_choice_with_two_full_credit_answers_stays_single_choice():
    question = ParsedQuestion("single_choice", "n", "Either?", answers=[
        ParsedAnswer("a", 1.0), ParsedAnswer("b", 1.0)])

    assert round_trip([question])[0].qtype == "single_choice"


def test_category_is_written_only_when_it_changes_and_can_be_cleared():
    questions = [ParsedQuestion("description", f"d{n}", f"Text {n}", category=category)
                 for n, category in enumerate(["唐卡", "唐卡", None, "ཐང་ཀ་"])]

    text = export_gift(questions)

    assert text.count("$CATEGORY:") == 3
    assert [q.category for q in round_trip(questions)] == ["唐卡", "唐卡", None, "ཐང་ཀ་"]


def test_a_question_that_cannot_be_written_raises_value_error():
    with pytest.raises(ValueError):
        export_gift([ParsedQuestion("calculated", "n", "x")])
    with pytest.raises(ValueError):
        export_gift([ParsedQuestion("numerical", "n", "x", answers=[
            ParsedAnswer("", 1.0, value=float("inf"), tolerance=0.0)])])


# Property: any question built from awkward characters survives export and import ----------

AWKWARD = list("~=#{}:\\%->[]_ aT1.") + [
    "ཐང་ཀ", "་", "།", "ཀ", "\u0f71", "\u0f72", "\u0f43", "唐卡", "颜料", "\n", "\t", "\u3000",
    "//", "::", "####", "[html]", "$CATEGORY:", "_____", "->", "\\n",
]


def texts(min_size: int = 1) -> st.SearchStrategy[str]:
    """Stripped NFC text drawn from GIFT's control characters, Tibetan and Chinese."""
    drawn = st.lists(st.sampled_from(AWKWARD), max_size=8).map("".join).map(clean_text)
    return drawn.filter(bool) if min_size else drawn


fractions = st.integers(-10_000_000, 10_000_000).map(lambda n: round(n / 10_000_000, 7))
numbers = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def choice_answers(draw, *, single: bool) -> list[ParsedAnswer]:
    if single:
        answers = [ParsedAnswer(draw(texts()), draw(fractions), draw(texts(0)))
                   for _ in range(draw(st.integers(2, 5)))]
        answers[draw(st.integers(0, len(answers) - 1))].fraction = 1.0
        return answers
    positive = draw(st.sampled_from([[1.0], [0.5, 0.5], [0.3333333, 0.3333333, 0.3333334],
                                     [0.25, 0.25, 0.5], [0.6, 0.4]]))
    others = draw(st.lists(st.integers(-10_000_000, 0).map(lambda n: round(n / 1e7, 7)),
                           min_size=max(0, 2 - len(positive)), max_size=3))
    weights = draw(st.permutations(positive + others))
    return [ParsedAnswer(draw(texts()), weight, draw(texts(0))) for weight in weights]


@st.composite
def numerical_answers(draw) -> list[ParsedAnswer]:
    answers = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            low, high = sorted([draw(numbers), draw(numbers)])
            answer = ParsedAnswer("", draw(fractions), draw(texts(0)), range_min=low,
                                  range_max=high)
        else:
            answer = ParsedAnswer("", draw(fractions), draw(texts(0)), value=draw(numbers),
                                  tolerance=abs(draw(numbers)))
        answers.append(answer)
    answers[0].fraction = 1.0
    if draw(st.booleans()):
        answers.append(ParsedAnswer("*", 0.0, draw(texts(0))))
    return answers


@st.composite
def questions(draw) -> ParsedQuestion:
    qtype = draw(st.sampled_from(["single_choice", "multiple_response", "true_false",
                                  "short_answer", "numerical", "matching", "essay",
                                  "description"]))
    if qtype in ("single_choice", "multiple_response"):
        answers = draw(choice_answers(single=qtype == "single_choice"))
    elif qtype == "true_false":
        correct = draw(st.booleans())
        answers = [ParsedAnswer("true", 1.0 if correct else 0.0, draw(texts(0))),
                   ParsedAnswer("false", 0.0 if correct else 1.0, draw(texts(0)))]
    elif qtype == "short_answer":
        answers = [ParsedAnswer(draw(texts()), draw(fractions), draw(texts(0)))
                   for _ in range(draw(st.integers(1, 3)))]
        answers[-1].fraction = 1.0
    elif qtype == "numerical":
        answers = draw(numerical_answers())
    elif qtype == "matching":
        answers = [ParsedAnswer(draw(texts()), 1.0, match=draw(texts()))
                   for _ in range(draw(st.integers(2, 4)))]
        answers += [ParsedAnswer("", 1.0, match=draw(texts()))
                    for _ in range(draw(st.integers(0, 2)))]
    else:
        answers = []
    return ParsedQuestion(
        qtype=qtype,
        name=draw(texts()),
        text=draw(texts()),
        text_format=draw(st.sampled_from(["moodle", "markdown", "html", "plain"])),
        answers=answers,
        general_feedback="" if qtype == "description" else draw(texts(0)),
        category=draw(st.sampled_from([None, "ཐང་ཀ་/ཚོན།", "唐卡/颜料", "a: {b}"])),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(questions(), min_size=1, max_size=4))
def test_any_question_with_awkward_characters_survives_export_and_import(generated):
    assert round_trip(generated) == generated
