"""``lms courses ...`` commands and the demo courses."""

from __future__ import annotations

from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.courses import operations
from lms.courses.models import Course, CourseStatus, SkillLevel, TrainingType
from lms.extensions import db
from lms.users.cli import demo_user
from lms.users.models import Role


@click.group()
def cli() -> None:
    """Courses."""


cli.name = "courses"


@cli.command("list")
@click.option("--status", type=click.Choice([s.value for s in CourseStatus]))
@with_appcontext
def list_courses(status: str | None) -> None:
    """List courses with their status and institution."""
    stmt = select(Course).order_by(Course.code)
    if status:
        stmt = stmt.where(Course.status == status)
    for course in db.session.scalars(stmt):
        click.echo(f"{course.id:>5}  {course.code:<16} {course.status.value:<10} "
                   f"{course.institution.code:<12} {course.title_en or course.title_zh or ''}")


THANGKA = dict(
    code="THANGKA-101", occupation_code="4-13-02-03",
    title_bo="ཐང་ཀ་འབྲི་རྒྱུའི་གཞི་རྩའི་སློབ་ཚན།",
    title_zh="唐卡绘画基础",
    title_en="Thangka Painting: Foundations",
    summary_bo=("ཐང་ཀ་ནི་བོད་ཀྱི་སྲོལ་རྒྱུན་རི་མོའི་སྒྱུ་རྩལ་གལ་ཆེན་ཞིག་ཡིན། སློབ་ཚན་འདིའི་ནང་རས་གཞི་གྲ་སྒྲིག་"
                "དང་། ཐིག་རྩ། ཚོན་རྩི་སྦྱོར་སྟངས་བཅས་སློབ་སྦྱོང་བྱེད།"),
    summary_zh="唐卡是藏族传统绘画艺术。本课程学习画布准备、度量线（ཐིག་རྩ）和矿物颜料的调制。",
    summary_en=("Thangka is the traditional Tibetan art of painted scrolls. This course covers "
                "preparing the canvas, the proportion grid and mixing mineral pigments."),
    occupation_name_bo="ཐང་ཀ་རི་མོ་བ།", occupation_name_zh="唐卡画师",
    occupation_name_en="Thangka painter",
    skill_level=SkillLevel.LEVEL5, training_type=TrainingType.EMPLOYMENT, nominal_hours=48,
    subsidised=True, sequential=True,
)

THANGKA_SECTIONS = [
    (dict(title_bo="ལེའུ་དང་པོ། རས་གཞི་གྲ་སྒྲིག", title_zh="第一章 画布准备",
          title_en="Chapter 1 · Preparing the canvas"), [
        dict(kind="text", credit_hours="1.5", min_reading_minutes=1,
             title_bo="རས་གཞི་བསྒྲིགས་སྟངས།", title_zh="绷布与上胶", title_en="Stretching and sizing",
             body_bo=("རས་དཀར་པོ་ཤིང་སྒྲོམ་ལ་དམ་པོར་བསྒྲིགས་ནས། "
                      "སྤྱིན་དང་ས་དཀར་བསྲེས་པའི་ཐིགས་ཚོན་བྱུགས་དགོས། སྐམ་རྗེས་ཞོ་ཕོར་"
                      "ཡང་ན་རྡོ་སྣུམ་པོས་ཡང་ཡང་བརྡར་ནས་ངོས་འཇམ་པོ་བཟོ་དགོས།"),
             body_zh=("将白布紧绷在木框上，刷上由动物胶与白土调和的底料。"
                      "干燥后用光滑的石头或贝壳反复打磨，使画面平整光亮。"),
             body_en=("Stretch white cotton tightly on a wooden "
                      "frame and brush on a ground of hide glue and white clay. When dry, "
                      "burnish it again and again with a smooth stone or shell until the surface "
                      "is even and glossy.")),
        dict(kind="text", credit_hours="1.5", min_reading_minutes=1,
             title_bo="ཐིག་རྩའི་རྨང་གཞི།", title_zh="度量线基础", title_en="The proportion grid",
             body_bo=("ལྷ་སྐུ་འབྲི་བའི་སྔོན་ལ་ཐིག་རྩ་ཡིས་ཚད་གཞི་གཏན་འཁེལ་བྱེད། "
                      "ཐིག་ཚད་ནོར་ན་སྐུ་གཟུགས་ཡོངས་རྫོགས་ནོར་ངེས།"),
             body_zh=("绘制佛像之前，先以度量线（ཐིག་རྩ）确定比例。"
                      "比例一旦出错，整个形象都会失准。"),
             body_en=("Before a figure is drawn, the proportion grid "
                      "(*thig rtsa*) fixes its measures. If the grid is wrong, the whole figure "
                      "will be wrong.")),
    ]),
    (dict(title_bo="ལེའུ་གཉིས་པ། ཚོན་རྩི།", title_zh="第二章 矿物颜料",
          title_en="Chapter 2 · Mineral pigments"), [
        dict(kind="text", credit_hours="2", min_reading_minutes=1,
             title_bo="ཚོན་རྩི་སྦྱོར་སྟངས།", title_zh="颜料的研磨与调制",
             title_en="Grinding and mixing pigments",
             body_bo=("མཐིང་ཤེལ་དང་། སྤང་མ། མཚལ་སོགས་རྡོ་ཚོན་རྣམས་ཞིབ་མོར་བཏགས་ནས་"
                      "སྤྱིན་དང་བསྲེས་ཏེ་ཚོན་རྩི་བཟོ་དགོས།"),
             body_zh="将石青、石绿、朱砂等矿物细细研磨，再与胶调和成颜料。",
             body_en=("Azurite, malachite, cinnabar and other minerals are "
                      "ground very fine and mixed with glue to make paint.")),
    ]),
]

INCENSE = dict(
    code="INCENSE-201", occupation_code="6-02-06-05",
    title_bo="བོད་སྤོས་བཟོ་སྟངས།", title_zh="藏香制作工艺", title_en="Tibetan Incense Making",
    summary_bo="སྨན་རྫས་ཀྱི་རིགས་ངོས་འཛིན་དང་། བཏགས་སྟངས། སྤོས་རིལ་བཟོ་སྟངས་བཅས་སློབ་སྦྱོང་བྱེད།",
    summary_zh="学习藏香原料的识别、研磨配比与手工成型。",
    summary_en="Recognise the herbs, grind and blend them, and roll incense sticks by hand.",
    occupation_name_bo="སྤོས་བཟོ་བ།", occupation_name_zh="藏香制作工",
    occupation_name_en="Incense maker",
    skill_level=SkillLevel.LEVEL4, training_type=TrainingType.UPGRADING, nominal_hours=32,
    subsidised=True, sequential=False,
)

INCENSE_SECTIONS = [
    (dict(title_bo="ལེའུ་དང་པོ། སྨན་རྫས།", title_zh="第一章 原料", title_en="Chapter 1 · Ingredients"), [
        dict(kind="text", credit_hours="1", min_reading_minutes=1,
             title_bo="སྨན་རྫས་ངོས་འཛིན།", title_zh="认识原料", title_en="Knowing the ingredients",
             body_bo="ཙན་དན་དང་། གུར་གུམ། ཤིང་ཚ་སོགས་སྨན་རྫས་ཀྱི་ཁྱད་ཆོས་ངོས་འཛིན་བྱེད།",
             body_zh="认识檀香、藏红花、肉桂等原料的特性。",
             body_en="Learn the qualities of sandalwood, saffron, cinnamon and other herbs."),
        dict(kind="text", credit_hours="1", min_reading_minutes=1,
             title_bo="སྤོས་རིལ་བཟོ་སྟངས།", title_zh="手工搓制", title_en="Rolling sticks by hand",
             body_bo="སྨན་རྫས་བཏགས་ཏེ་ཆུ་དང་བསྲེས་ནས་ལག་པས་སྤོས་རིལ་བཟོ།",
             body_zh="将研磨好的原料加水揉合，用手搓成香条。",
             body_en="Knead the ground herbs with water and roll them into sticks by hand."),
    ]),
]


def _demo_course(spec: dict, sections: list, institution, instructor, admin) -> Course:
    course = db.session.scalar(select(Course).where(Course.code == spec["code"]))
    if course is not None:
        return course
    course = operations.save_course(admin, None, institution=institution, **spec)
    course.instructors.append(instructor)
    for section_spec, lessons in sections:
        section = operations.save_section(admin, course, None, **section_spec)
        for lesson_spec in lessons:
            values = {**lesson_spec, "credit_hours": Decimal(lesson_spec["credit_hours"])}
            operations.save_lesson(admin, section, None, required=True, is_published=True,
                                   **values)
    operations.publish_course(admin, course)
    return course


def load_demo() -> list[str]:
    """A published thangka course and an incense course, with the demo learner enrolled."""
    admin = demo_user(Role.INSTITUTION_ADMIN)
    instructor = demo_user(Role.INSTRUCTOR)
    learner = demo_user(Role.LEARNER)
    thangka = _demo_course(THANGKA, THANGKA_SECTIONS, admin.institution, instructor, admin)
    incense = _demo_course(INCENSE, INCENSE_SECTIONS, admin.institution, instructor, admin)
    for course in (thangka, incense):
        operations.enrol(learner, course)
    db.session.flush()
    return [f"Demo courses: {thangka.code}, {incense.code} (the demo learner is enrolled)."]
