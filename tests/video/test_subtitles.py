"""Instructors' subtitle files become clean WebVTT, whatever they held."""

import unicodedata

import ffmpeg
import pytest

from lms.video.subtitles import SubtitleRejected, parse_subtitles, subtitle_text

pytestmark = pytest.mark.no_database

TIBETAN = "ཐང་ཀ་འབྲི་བའི་སྔོན་ལ་རས་གཞི་གྲ་སྒྲིག་བྱེད།"  # before painting a thangka, prepare the canvas
CHINESE = "画唐卡之前，先准备好画布。"

SRT = f"""1
00:00:01,000 --> 00:00:04,500
{TIBETAN}

2
00:00:05,000 --> 00:00:08,250
{CHINESE}
"""


def cues(vtt: str) -> list[list[str]]:
    """Each cue's lines after the header, timing line first."""
    blocks = vtt.rstrip("\n").split("\n\n")
    assert blocks[0] == "WEBVTT"
    return [block.split("\n") for block in blocks[1:] if block]


def rejected(data: bytes, name: str = "lesson.vtt") -> SubtitleRejected:
    with pytest.raises(SubtitleRejected) as caught:
        parse_subtitles(data, name)
    return caught.value


def test_srt_becomes_webvtt_with_dots_in_the_times():
    vtt = parse_subtitles(SRT.encode(), "thangka-bo.srt")
    assert cues(vtt) == [
        ["00:00:01.000 --> 00:00:04.500", TIBETAN],
        ["00:00:05.000 --> 00:00:08.250", CHINESE],
    ]


def test_srt_saved_by_windows_with_bom_and_crlf_is_read():
    data = b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode()
    assert cues(parse_subtitles(data, "lesson.srt"))[0][1] == TIBETAN


def test_utf16_file_from_notepad_is_read():
    assert cues(parse_subtitles(SRT.encode("utf-16"), "lesson.srt"))[1][1] == CHINESE


def test_webvtt_keeps_its_cues_and_valid_settings_but_not_styles_or_notes():
    data = f"""WEBVTT - 唐卡

STYLE
::cue {{ background: url(https://evil.example/x.png) }}

NOTE written by the instructor

intro
00:01.000 --> 00:03.000 align:start position:10% region:r1 line:bogus
<v.teacher Dorje Tsering>{TIBETAN}</v>
""".encode()
    assert cues(parse_subtitles(data, "lesson.vtt")) == [
        ["00:00:01.000 --> 00:00:03.000 align:start position:10%",
         f"<v.teacher Dorje Tsering>{TIBETAN}</v>"],
    ]


def test_text_is_stored_nfc_normalised():
    decomposed_vowel = "ཀཱི"  # U+0F73 has a canonical decomposition
    data = f"WEBVTT\n\n00:00.000 --> 00:01.000\n{decomposed_vowel} cafe\u0301\n".encode()
    text = cues(parse_subtitles(data))[0][1]
    assert text == unicodedata.normalize("NFC", f"{decomposed_vowel} café")
    assert "\u0f73" not in text


def test_allowed_inline_tags_survive_and_html_is_stripped():
    data = ("1\n00:00:01,000 --> 00:00:02,000\n"
            '<b>རས་གཞི</b> <font color="red">画布</font> <i>canvas</i>'
            '<img src=x onerror=alert(1)><ruby>唐<rt>táng</rt></ruby>\n').encode()
    text = cues(parse_subtitles(data, "a.srt"))[0][1]
    assert text == "<b>རས་གཞི</b> 画布 <i>canvas</i><ruby>唐<rt>táng</rt></ruby>"


def test_script_is_removed_with_its_content():
    data = ("WEBVTT\n\n00:00.000 --> 00:02.000\n"
            "唐卡<script>fetch('/steal?c='+document.cookie)</script>绘画\n").encode()
    assert cues(parse_subtitles(data))[0][1] == "唐卡绘画"


def test_tag_attributes_and_bad_classes_are_dropped_and_tags_balanced():
    data = ("WEBVTT\n\n00:00.000 --> 00:02.000\n"
            '<c.yellow.x"onclick=y onclick="x">ཐང་ཀ<b>་</c> <lang bo>བོད</lang>'
            "<lang javascript:alert(1)>x</lang> <rt>alone</rt>\n").encode()
    text = cues(parse_subtitles(data))[0][1]
    assert text == "<c.yellow>ཐང་ཀ<b>་</b></c> <lang bo>བོད</lang>x alone"


def test_lone_angle_brackets_and_arrows_in_text_stay_harmless_text():
    data = b"1\n00:00:01,000 --> 00:00:02,000\n3 < 5 --> 7 & more\n"
    assert cues(parse_subtitles(data, "a.srt"))[0][1] == "3 &lt; 5 --&gt; 7 &amp; more"


def test_positioning_codes_from_subtitle_editors_are_removed():
    data = "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}唐卡\n".encode()
    assert cues(parse_subtitles(data, "a.srt"))[0][1] == "唐卡"


def test_cues_that_end_up_empty_are_dropped():
    data = ("WEBVTT\n\n00:00.000 --> 00:01.000\n<script>x</script>\n\n"
            "00:01.000 --> 00:02.000\n唐卡\n").encode()
    assert [c[1] for c in cues(parse_subtitles(data))] == ["唐卡"]


@pytest.mark.parametrize(("timing", "code"), [
    ("00:00:61,000 --> 00:01:02,000", "timestamp"),
    ("00:00:01 --> 00:00:02", "timestamp"),
    ("00:00:01,000 --> soon", "timestamp"),
    ("00:00:05,000 --> 00:00:04,000", "order"),
    ("00:00:05,000 --> 00:00:05,000", "order"),
    ("9" * 5000 + ":00:01,000 --> 99999:00:02,000", "timestamp"),  # int() refuses 5,000 digits
    ("9" * 400 + ":00:01,000 --> 00:00:02,000", "timestamp"),  # a float cannot hold it
])
def test_bad_times_are_rejected_naming_the_line(timing, code):
    error = rejected(f"1\n{timing}\n唐卡\n".encode(), "a.srt")
    assert error.code == code
    assert "Line 2" in str(error.reason)


def test_file_without_any_cue_is_rejected():
    assert rejected(b"WEBVTT\n\nNOTE nothing here\n").code == "no_cues"
    assert rejected("1\n00:00:01,000 -> 00:00:02,000\n唐卡\n".encode(), "a.srt").code == "no_cues"


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"", "a.vtt", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a.vtt", "binary"),
    ("1\n00:00:01,000 --> 00:00:02,000\n唐卡\n".encode("gb18030"), "a.srt", "encoding"),
    (b"WEBVTT\n", "a.ass", "format"),
    (b"WEBVTT\n\n" + b"00:00.000 --> 00:01.000\nx\n\n" * 50_000, "a.vtt", "too_large"),
])
def test_unusable_files_are_rejected(data, name, code):
    assert rejected(data, name).code == code


def test_subtitle_text_gives_the_words_for_search():
    vtt = parse_subtitles(
        f"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Dorje>{TIBETAN}</v>\n\n"
        f"00:01.000 --> 00:02.000\n{TIBETAN}\n\n"
        f"00:02.000 --> 00:03.000\n<b>{CHINESE}</b>\nA &amp; B\n".encode())
    assert subtitle_text(vtt) == f"{TIBETAN}\n{CHINESE} A & B"


def test_result_is_read_back_by_a_webvtt_parser(tmp_path):
    vtt = tmp_path / "lesson-bo.vtt"
    vtt.write_text(parse_subtitles(SRT.encode(), "lesson.srt"), encoding="utf-8")
    srt = tmp_path / "roundtrip.srt"
    ffmpeg.input(str(vtt), f="webvtt").output(str(srt)).run(quiet=True)
    assert srt.read_text(encoding="utf-8").split("\n\n")[0].splitlines() == [
        "1", "00:00:01,000 --> 00:00:04,500", TIBETAN]
