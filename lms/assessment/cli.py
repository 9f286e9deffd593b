"""``lms quiz ...`` commands (import and export GIFT) and the demo quiz and practical task."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.assessment.gift import parse_gift
from lms.assessment.models import Question, QuestionCategory
from lms.assessment.operations import banks, practical, quizzes
from lms.core.i18n import CONTENT_LANGS
from lms.courses import operations as course_ops
from lms.courses.models import Course, Lesson
from lms.extensions import db
from lms.users.cli import demo_user
from lms.users.models import Role


@click.group()
def cli() -> None:
    """Question banks and quizzes."""


cli.name = "quiz"


def _course(code: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.code == code.strip().upper()))
    if course is None:
        raise click.UsageError(f"no course with code {code}")
    return course


@cli.command("import-gift")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "course_code", help="Code of the course whose bank receives them.")
@click.option("--category", help="Category for questions the file does not place in one.")
@click.option("--dry-run", is_flag=True, help="Only read the file and report; --course optional.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the parsed questions and errors as JSON.")
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid questions even when others have errors.")
@with_appcontext
def import_gift(file: Path, course_code: str | None, category: str | None, dry_run: bool,
                as_json: bool, skip_invalid: bool) -> None:
    """Import a GIFT file into a course's question bank.

    Prints the questions found per type, the total and every error with its line
    number; a file with errors imports nothing (unless --skip-invalid) and the
    command exits with status 1.
    """
    course = _course(course_code) if course_code else None
    if course is None and not dry_run:
        raise click.UsageError("--course is required unless --dry-run is given")
    limit = current_app.config["QUIZ_IMPORT_MAX_BYTES"]
    with open(file, "rb") as fh:
        data = fh.read(limit + 1)
    result = parse_gift(data, max_bytes=limit)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    report = click.echo if not as_json else (lambda text: click.echo(text, err=True))
    if not as_json:
        for qtype, n in result.counts().items():
            report(f"{qtype:<20}{n:>6}")
        report(f"{'total':<20}{result.total:>6}")
    for error in result.errors:
        click.echo(str(error), err=True)
    if dry_run:
        sys.exit(1 if result.errors else 0)
    if result.errors and not skip_invalid:
        click.echo(f"Nothing imported: {len(result.errors)} error(s).", err=True)
        sys.exit(1)
    created = banks.import_questions(None, course, result.questions, category=category)
    db.session.commit()
    report(f"Imported {len(created)} question(s) into {course.code}.")
    sys.exit(1 if result.errors else 0)


@cli.command("export-gift")
@click.option("--course", "course_code", required=True)
@click.option("--category", help="Only this category.")
@click.option("--language", type=click.Choice(CONTENT_LANGS),
              help="Write each question in this language where it has it.")
@with_appcontext
def export_gift_command(course_code: str, category: str | None, language: str | None) -> None:
    """Print a course's question bank (or one category) as GIFT."""
    course = _course(course_code)
    stmt = select(Question).join(QuestionCategory).where(
        Question.course_id == course.id, Question.is_active.is_(True)).order_by(
        QuestionCategory.name, Question.id)
    if category:
        stmt = stmt.where(QuestionCategory.name == banks.clean_category_name(category))
    click.echo(banks.export_questions(db.session.scalars(stmt), language), nl=False)


# --- demo ----------------------------------------------------------------------------

DEMO_GIFT = """\
$CATEGORY: ཐང་ཀའི་ཡོ་བྱད། 唐卡材料

::རས་གཞི།::ཐང་ཀའི་རས་གཞི་གྲ་སྒྲིག་བྱེད་སྐབས་ཀ་རག་དང་མཉམ་དུ་ག་རེ་བསྲེས་དགོས་སམ།{
\t=སྤྱིན་#ལེགས་སོ། སྤྱིན་གྱིས་ཀ་རག་རས་ལ་འབྱར་བར་བྱེད།
\t~འབྲུ་མར་#མར་གྱིས་ཚོན་མི་འཛིན།
\t~ཚྭ་
\t~འོ་མ་
}

::མཐིང་།::མཐིང་ནི་རྡོ་ལས་བྱུང་བའི་ས་ཚོན་ཞིག་ཡིན།{T#མཐིང་ནི་རྡོ་ཚོན་ཡིན།#ལེགས་སོ།}

::ལྷ་བྲིས་པ།::ཐང་ཀ་བྲི་མཁན་ལ་ག་རེ་ཟེར།{=ལྷ་བྲིས་པ་ =%50%རི་མོ་མཁན་}

::矿物颜料::以下哪些是唐卡常用的矿物颜料？{
\t~%50%石青#石青来自蓝铜矿。
\t~%50%朱砂
\t~%-50%丙烯颜料#丙烯是现代化学颜料。
\t~%-50%水彩颜料
}

::打磨::画师用什么打磨金色部分，使其发出光泽？{=玛瑙 ~木头 ~棉布}

::用金::一幅唐卡需要用金 2.5 克，四幅唐卡共需要多少克？{#10:0.1}

::颜色::请把矿物和颜色配对。{
\t=石青 -> 蓝色
\t=石绿 -> 绿色
\t=朱砂 -> 红色
}
"""

DEMO_SECTION = dict(title_bo="ལེའུ་གསུམ་པ། ཚོད་ལྟ་དང་ལག་ལེན།", title_zh="第三章 测验与实践",
                    title_en="Chapter 3 · Quiz and practice")
DEMO_QUIZ = dict(kind="quiz", credit_hours="1", title_bo="ཐང་ཀའི་ཡོ་བྱད་ཀྱི་ཚོད་ལྟ།",
                 title_zh="唐卡材料测验", title_en="Quiz: thangka materials",
                 body_zh="五道题，限时十五分钟，60 分及格。",
                 body_bo="དྲི་བ་ལྔ། དུས་ཚོད་སྐར་མ་བཅོ་ལྔ།",
                 body_en="Five questions, fifteen minutes, 60% to pass.")
DEMO_PRACTICAL = dict(
    kind="practical", credit_hours="4", title_bo="རས་གཞི་གྲ་སྒྲིག་ལག་ལེན།",
    title_zh="实践：绷布与打底", title_en="Practice: stretching and priming a canvas",
    body_bo="རས་གཞི་ཤིང་སྒྲོམ་ལ་བསྒྲིགས་ནས་སྤྱིན་དང་ཀ་རག་བྱུགས་ཏེ་བརྡར་རོགས། ལས་རིམ་རེ་རེའི་པར་དང་འགྲེལ་བཤད་གཏོང་རོགས།",
    body_zh="把画布绷在木框上，刷胶和白土底料并打磨。每个阶段拍照并简单说明。",
    body_en=("Stretch the canvas on its frame, apply the glue and white-clay ground, and burnish "
             "it. Send a photo and a few words for each stage."))
DEMO_STAGES = (
    dict(title_bo="རས་བསྒྲིགས།", title_zh="绷布", title_en="Stretching"),
    dict(title_bo="སྤྱིན་དང་ཀ་རག", title_zh="上胶打底", title_en="Sizing and priming"),
    dict(title_bo="བརྡར་བ།", title_zh="打磨", title_en="Burnishing"),
)
DEMO_CRITERIA = (
    (dict(title_bo="རས་ཀྱི་དམ་ཚད།", title_zh="绷紧程度", title_en="Tension"), None,
     [("0", "ལྷོད་པོ།", "松弛", "Slack"), ("2", "ཕལ་ཆེར་སྙོམས་པོ།", "基本平整", "Mostly even"),
      ("4", "དམ་ཞིང་སྙོམས་པོ།", "紧而平", "Taut and even")]),
    (dict(title_bo="ངོས་འཇམ་པོ།", title_zh="表面光滑", title_en="Smoothness"), 2,
     [("0", "རྩུབ་པོ།", "粗糙", "Rough"), ("2", "རྡུལ་ཕྲན་ཉུང་ཤས་ཡོད།", "有少量颗粒", "A few grains"),
      ("4", "མེ་ལོང་ལྟར་འོད་ལྡན།", "光亮如镜", "Mirror-smooth")]),
    (dict(title_bo="གཙང་སྦྲ།", title_zh="整洁", title_en="Cleanliness"), None,
     [("0", "དྲི་མ་ཡོད།", "有污渍", "Stained"), ("2", "གཙང་མ།", "干净", "Clean")]),
)
#: Each demo question in its other language, so that a Tibetan or a Chinese reader can take
#: the whole quiz: the question's text, then its options' texts (and matches), in order.
DEMO_TRANSLATIONS = {
    "རས་གཞི།": ("zh", "准备唐卡画布时，白土要和什么调在一起？",
                ["动物胶", "油", "盐", "牛奶"]),
    "མཐིང་།": ("zh", "石青是一种来自矿石的颜料。", []),
    "ལྷ་བྲིས་པ།": ("zh", "唐卡画师用藏语怎么说？", []),
    "矿物颜料": ("bo", "གཤམ་གྱི་གང་དག་ཐང་ཀར་རྒྱུན་དུ་བེད་སྤྱོད་བྱེད་པའི་རྡོ་ཚོན་ཡིན་ནམ།",
                ["མཐིང་།", "མཚལ།", "རྫས་སྦྱོར་ཚོན་རྩི།", "ཆུ་ཚོན།"]),
    "打磨": ("bo", "ལྷ་བྲིས་པས་གསེར་གྱི་ཆ་ཤས་འོད་འཚེར་བའི་ཆེད་དུ་གང་གིས་བརྡར་གྱི་ཡོད།",
             ["མཆིང་བུ།", "ཤིང་།", "རས།"]),
    "用金": ("bo", "ཐང་ཀ་གཅིག་ལ་གསེར་ཁེ་ 2.5 དགོས་ན། ཐང་ཀ་བཞི་ལ་ཁྱོན་བསྡོམས་ཁེ་ག་ཚོད་དགོས།", []),
    "颜色": ("bo", "རྡོ་ཚོན་དང་ཁ་དོག་ཟུང་སྒྲིག་གནང་རོགས།",
             [("མཐིང་།", "སྔོན་པོ།"), ("སྤང་མ།", "ལྗང་ཁུ།"), ("མཚལ།", "དམར་པོ།")]),
}


#: The answers' feedback in its other language, by the text it was written in.
DEMO_FEEDBACK = {
    "ལེགས་སོ། སྤྱིན་གྱིས་ཀ་རག་རས་ལ་འབྱར་བར་བྱེད།": ("zh", "答对了。胶让白土附着在画布上。"),
    "མར་གྱིས་ཚོན་མི་འཛིན།": ("zh", "有了油，颜料就附着不上。"),
    "མཐིང་ནི་རྡོ་ཚོན་ཡིན།": ("zh", "石青是矿物颜料。"),
    "ལེགས་སོ།": ("zh", "答对了。"),
    "石青来自蓝铜矿。": ("bo", "མཐིང་ནི་རྡོ་ལས་བྱུང་བའི་ཚོན་ཡིན།"),
    "丙烯是现代化学颜料。": ("bo", "རྫས་སྦྱོར་ཚོན་རྩི་ནི་དེང་རབས་ཀྱི་རྫས་འགྱུར་ཚོན་ཡིན།"),
}


def _translate_demo_questions(questions: list) -> None:
    for question in questions:
        for option in question.options:
            for source in ("bo", "zh"):
                lang, translated = DEMO_FEEDBACK.get(getattr(option, f"feedback_{source}") or "",
                                                     (None, None))
                if lang is not None:
                    setattr(option, f"feedback_{lang}", translated)
        lang, text, options = DEMO_TRANSLATIONS.get(question.name, (None, None, []))
        if lang is None:
            continue
        setattr(question, f"text_{lang}", text)
        texts = [o for o in question.options if o.text_bo or o.text_zh or o.text_en]
        for option, translated in zip(texts, options, strict=False):
            text, match = translated if isinstance(translated, tuple) else (translated, None)
            setattr(option, f"text_{lang}", text)
            if match is not None:
                setattr(option, f"match_{lang}", match)


def load_demo() -> list[str]:
    """A quiz (GIFT questions in Tibetan and Chinese) and a staged practical task with a
    rubric, added to the demo thangka course (idempotent)."""
    course = db.session.scalar(select(Course).where(Course.code == "THANGKA-101"))
    if course is None:
        return []
    admin = demo_user(Role.INSTITUTION_ADMIN)
    if db.session.scalar(select(Lesson.id).where(Lesson.course_id == course.id,
                                                 Lesson.kind == "quiz").limit(1)):
        return ["Demo quiz and practical task: already in THANGKA-101."]
    result = parse_gift(DEMO_GIFT)
    assert result.ok, [str(e) for e in result.errors]
    questions = banks.import_questions(admin, course, result.questions)
    _translate_demo_questions(questions)
    section = course_ops.save_section(admin, course, None, **DEMO_SECTION)
    quiz_lesson = course_ops.save_lesson(admin, section, None, required=True, is_published=True,
                                         **DEMO_QUIZ)
    quizzes.save_quiz_settings(admin, quiz_lesson, selection="random",
                               categories=[questions[0].category_id], question_count=5,
                               shuffle_questions=True, shuffle_options=True, pass_percent=60,
                               time_limit_minutes=15, max_attempts=3, grading="highest",
                               review="after_submission")
    task_lesson = course_ops.save_lesson(admin, section, None, required=True, is_published=True,
                                         **DEMO_PRACTICAL)
    task = practical.save_task(admin, task_lesson, evidence_kinds=["photo", "text"],
                               pass_percent=60)
    stages = [practical.save_stage(admin, task, task.stages[0], **DEMO_STAGES[0])]
    stages += [practical.save_stage(admin, task, None, **spec) for spec in DEMO_STAGES[1:]]
    for titles, stage_index, levels in DEMO_CRITERIA:
        practical.save_criterion(
            admin, task, None, stage_id=stages[stage_index].id if stage_index is not None else None,
            levels=[{"points": p, "title_bo": bo, "title_zh": zh, "title_en": en}
                    for p, bo, zh, en in levels],
            **titles)
    db.session.flush()
    return [f"Demo quiz ({len(questions)} questions) and practical task added to {course.code}."]
