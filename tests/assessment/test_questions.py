"""Every question type scores as a teacher would: weights, floors, tolerances, wildcards, NFC."""

from __future__ import annotations

import random
import unicodedata

import pytest
from werkzeug.datastructures import MultiDict

from lms.assessment.gift import parse_gift
from lms.assessment.models import Question
from lms.assessment.operations.banks import question_from_parsed
from lms.assessment.questions import (
    QUESTION_TYPES,
    answer_matches,
    normalise_answer,
    parse_number,
    qtype_of,
)
from lms.core.errors import UserError


def make(gift: str, lang: str = "en") -> Question:
    """A question (not saved) from one GIFT question, its options numbered 1, 2, 3 …"""
    result = parse_gift(gift)
    assert result.ok, [str(e) for e in result.errors]
    question = question_from_parsed(type("C", (), {"id": 1})(), result.questions[0], None, lang)
    question.id = 7
    for n, option in enumerate(question.options, start=1):
        option.id = n
    return question


def score(question: Question, form: dict | MultiDict, shuffle: bool = False) -> float | None:
    qtype = qtype_of(question)
    layout = qtype.layout(question, random.Random(1), shuffle)
    data = form if isinstance(form, MultiDict) else MultiDict(form)
    return qtype.score(question, layout, qtype.read(question, layout, data))


def option(question: Question, text: str) -> str:
    return str(next(o.id for o in question.options if o.text_en == text))


@pytest.fixture(autouse=True)
def _context(app):
    """Question texts fall back along the reader's language, which needs the app."""
    with app.test_request_context():
        yield


# --- single choice and multiple response ----------------------------------------------

def test_single_choice_earns_the_chosen_options_weight():
    q = make("Blue?{=Azurite ~%50%Lapis ~Cinnabar}")
    assert score(q, {"q7": option(q, "Azurite")}) == 1
    assert score(q, {"q7": option(q, "Lapis")}) == 0.5
    assert score(q, {"q7": option(q, "Cinnabar")}) == 0
    assert score(q, {}) == 0


def test_multiple_response_adds_partial_weights():
    q = make("Minerals?{~%50%Azurite ~%50%Cinnabar ~%-100%Acrylic}")
    both = MultiDict([("q7", option(q, "Azurite")), ("q7", option(q, "Cinnabar"))])
    one = MultiDict([("q7", option(q, "Azurite"))])
    assert score(q, both) == 1
    assert score(q, one) == 0.5


def test_multiple_response_wrong_choices_take_points_away_and_the_total_floors_at_zero():
    q = make("Minerals?{~%50%Azurite ~%50%Cinnabar ~%-50%Acrylic ~%-50%Watercolour}")
    ids = [option(q, t) for t in ("Azurite", "Acrylic", "Watercolour")]
    assert score(q, MultiDict([("q7", i) for i in ids])) == 0
    every = MultiDict([("q7", str(o.id)) for o in q.options])
    assert score(q, every) == 0


def test_choosing_only_negative_options_scores_zero_not_less():
    q = make("Minerals?{~%100%Azurite ~%-100%Acrylic ~%-100%Oil}")
    negatives = MultiDict([("q7", option(q, "Acrylic")), ("q7", option(q, "Oil"))])
    assert score(q, negatives) == 0


def test_an_answer_naming_an_option_not_in_the_question_is_refused():
    q = make("Blue?{=Azurite ~Cinnabar}")
    with pytest.raises(UserError):
        score(q, {"q7": "999"})
    m = make("Minerals?{~%50%Azurite ~%50%Cinnabar}")
    with pytest.raises(UserError):
        score(m, MultiDict([("q7", "1"), ("q7", "not-a-number")]))


# --- true/false --------------------------------------------------------------------------

def test_true_false_scores_the_right_statement_and_refuses_other_values():
    q = make("Azurite is a mineral.{T}")
    assert score(q, {"q7": "true"}) == 1
    assert score(q, {"q7": "false"}) == 0
    assert score(make("Acrylic is a mineral.{F}"), {"q7": "false"}) == 1
    with pytest.raises(UserError):
        score(q, {"q7": "maybe"})


# --- short answer ------------------------------------------------------------------------

def test_short_answers_ignore_case_and_spacing_and_take_the_best_weight():
    q = make("Painter?{=Lha bris pa =%50%ri mo mkhan}")
    assert score(q, {"q7": "  LHA   bris pa "}) == 1
    assert score(q, {"q7": "Ri mo mkhan"}) == 0.5
    assert score(q, {"q7": "painter"}) == 0


def test_tibetan_stacks_typed_decomposed_or_precomposed_match():
    precomposed = "\u0f43\u0f7a"          # གྷེ typed with the precomposed letter GHA
    decomposed = "\u0f42\u0fb7\u0f7a"     # the same syllable as GA + subjoined HA
    assert precomposed != decomposed
    assert unicodedata.normalize("NFC", precomposed) == unicodedata.normalize("NFC", decomposed)
    q = make(f"Syllable?{{={precomposed}}}", lang="bo")
    assert score(q, {"q7": decomposed}) == 1


def test_tibetan_vowel_signs_typed_in_either_order_match():
    # NFC puts combining vowel signs in canonical order: ེ (U+0F7A) and ུ (U+0F74).
    one, other = "\u0f40\u0f74\u0f7a", "\u0f40\u0f7a\u0f74"
    assert normalise_answer(one) == normalise_answer(other)
    assert answer_matches(one, other)


def test_a_trailing_tsheg_or_shad_does_not_matter():
    q = make("::ལྷ་བྲིས་པ།::ཐང་ཀ་བྲི་མཁན་ལ་ག་རེ་ཟེར།{=ལྷ་བྲིས་པ་}", lang="bo")
    assert score(q, {"q7": "ལྷ་བྲིས་པ"}) == 1
    assert score(q, {"q7": "ལྷ་བྲིས་པ།"}) == 1


def test_the_wildcard_stands_for_any_text():
    q = make("Colour of azurite?{=*blue* =%50%b*}")
    assert score(q, {"q7": "deep blue stone"}) == 1
    assert score(q, {"q7": "bright"}) == 0.5
    assert score(q, {"q7": "red"}) == 0


@pytest.mark.parametrize(("accepted", "given", "expected"), [
    ("*", "", True), ("*", "anything", True), ("a*", "a", True), ("*a", "ba", True),
    ("a*a", "a", False), ("a*a", "aa", True), ("ab*ba", "aba", False),
    ("*blue*", "deep blue stone", True), ("b*e", "blue", True), ("b*e", "bluer", False),
    ("a**b", "ab", True), ("*a*b*c*", "xaxbxcx", True), ("*a*b*c*", "xcxbxa", False),
    ("ལྷ*པ", "ལྷ་བྲིས་པ།", True), ("LHA*PA", "lha bris pa", True),
])
def test_the_wildcard_matches_like_a_glob(accepted, given, expected):
    assert answer_matches(accepted, given) is expected


@pytest.mark.timeout(5)
def test_a_pathological_wildcard_pattern_is_answered_at_once():
    # As a regular expression (.*a.*a.*a.*a.*b) this backtracks for seconds on 200 letters.
    assert answer_matches("*a*a*a*a*b", "a" * 200) is False
    assert answer_matches("*a*a*a*a*a*a*a*a*a*a*b", "a" * 5000) is False
    assert answer_matches("*a*a*a*a*b", "a" * 200 + "b") is True


def test_chinese_short_answers_match_after_full_width_spaces_collapse():
    q = make("石青是什么颜色？{=蓝色}", lang="zh")
    assert score(q, {"q7": "\u3000蓝色\u3000"}) == 1


# --- numerical ------------------------------------------------------------------------------

def test_numbers_match_within_the_tolerance_edges_included():
    q = make("Grams?{#12.5:0.5}")
    for given, expected in (("12.5", 1), ("12", 1), ("13", 1), ("13.01", 0), ("11.99", 0)):
        assert score(q, {"q7": given}) == expected, given


def test_numerical_ranges_are_inclusive():
    q = make("Area?{#3400..3600}")
    for given, expected in (("3400", 1), ("3600", 1), ("3500", 1), ("3399.9", 0), ("3600.1", 0)):
        assert score(q, {"q7": given}) == expected, given


def test_numerical_alternatives_earn_partial_credit_and_other_answers_get_feedback():
    q = make("Grams?{#=12.5:0#Right. =%50%12.5:1#Close. ~#Use 2.5 × 5.}")
    qtype = qtype_of(q)
    assert score(q, {"q7": "12.5"}) == 1
    assert score(q, {"q7": "13"}) == 0.5
    assert score(q, {"q7": "20"}) == 0
    assert qtype.feedback(q, {}, {"text": "20"}, "en") == ["Use 2.5 × 5."]
    assert qtype.correct_answer(q, {}, "en") == "12.5"


def test_numbers_typed_on_a_chinese_keyboard_are_read():
    assert parse_number("１２．５") == 12.5
    assert parse_number("12,5") == 12.5
    assert parse_number("1 000") == 1000
    assert parse_number("twelve") is None and parse_number("nan") is None
    q = make("Grams?{#15}")
    assert score(q, {"q7": "１５"}) == 1
    assert score(q, {"q7": "fifteen"}) == 0


# --- matching ----------------------------------------------------------------------------------

GIFT_MATCHING = "Pair them.{=Azurite -> blue =Malachite -> green =Cinnabar -> red = -> yellow}"


def test_matching_scores_the_share_of_items_matched_right():
    q = make(GIFT_MATCHING)
    qtype = qtype_of(q)
    layout = qtype.layout(q, random.Random(3), True)
    matches = [o.match_en for o in qtype.choices(q, layout)]
    assert sorted(matches) == ["blue", "green", "red", "yellow"]  # the distractor is offered
    right = {f"q7.{o.id}": str(matches.index(o.match_en))
             for o in qtype.items(q, layout)}
    assert qtype.score(q, layout, qtype.read(q, layout, MultiDict(right))) == 1
    azurite, malachite = (f"q7.{o.id}" for o in q.options[:2])
    half = {**right, azurite: right[malachite], malachite: right[azurite]}
    assert qtype.score(q, layout, qtype.read(q, layout, MultiDict(half))) == pytest.approx(1 / 3)


def test_matching_refuses_an_item_or_a_choice_the_question_does_not_have():
    q = make(GIFT_MATCHING)
    qtype = qtype_of(q)
    layout = qtype.layout(q, random.Random(3), False)
    with pytest.raises(UserError):
        qtype.read(q, layout, MultiDict({"q7.99": "0"}))
    with pytest.raises(UserError):
        qtype.read(q, layout, MultiDict({"q7.1": "9"}))
    for odd in ("²", "༣", "1" * 5000, "-1"):  # digits int() refuses, or too many
        with pytest.raises(UserError):
            qtype.read(q, layout, MultiDict({"q7.1": odd}))


def test_two_items_with_the_same_match_are_both_right_with_it():
    q = make("Colour?{=Azurite -> blue =Lapis -> blue =Cinnabar -> red}")
    qtype = qtype_of(q)
    layout = qtype.layout(q, random.Random(0), False)
    matches = [o.match_en for o in qtype.choices(q, layout)]
    assert sorted(matches) == ["blue", "red"]
    form = {f"q7.{o.id}": str(matches.index(o.match_en)) for o in qtype.items(q, layout)}
    assert qtype.score(q, layout, qtype.read(q, layout, MultiDict(form))) == 1


# --- essays, descriptions, widgets ----------------------------------------------------------------

def test_essays_wait_for_a_person_and_descriptions_are_not_scored():
    essay = make("Describe the canvas.{}")
    assert QUESTION_TYPES["essay"].graded_by_hand
    assert score(essay, {"q7": "Stretch, size, prime."}) is None
    description = make("::Intro::The next questions are about pigments.")
    assert not qtype_of(description).scored
    assert str(qtype_of(description).widget(description, {}, None, "en")) == ""


def test_widgets_never_show_weights_or_feedback():
    for gift in ("Blue?{=Azurite#Yes! ~Cinnabar#No, red.}",
                 "Painter?{=lha bris pa#Right!}",
                 "Grams?{#12.5:0#Exactly!}",
                 "Minerals?{~%50%Azurite#Good ~%50%Cinnabar ~%-100%Acrylic#Never}",
                 GIFT_MATCHING):
        q = make(gift)
        qtype = qtype_of(q)
        html = str(qtype.widget(q, qtype.layout(q, random.Random(0), True), None, "en"))
        for word in ("Yes!", "No, red.", "Right!", "lha bris pa", "12.5", "Exactly", "Good",
                     "Never", "%", "-100", "correct"):
            assert word not in html, (gift, word)
