"""Factories for test data: real names in Tibetan and Chinese, unique contacts.

Each factory commits (inside the test's outer transaction), so a controller
that rolls back its own failed unit of work does not take the test's data with it.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from lms.courses import operations as course_ops
from lms.courses.models import Course, Enrolment, SkillLevel, TrainingType
from lms.users import operations as user_ops
from lms.users.models import Institution, InstitutionKind, Role, User

_seq = itertools.count(1)

PASSWORD = "correct-horse-42"


class Factories:
    """``make.user(...)``, ``make.institution(...)`` and friends for one test session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._author: User | None = None

    @property
    def author(self) -> User:
        """A regional administrator who builds the factory's courses."""
        if self._author is None:
            self._author = self.user(Role.REGIONAL_ADMIN)
        return self._author

    def institution(self, **kw: Any) -> Institution:
        n = next(_seq)
        fields = dict(code=f"INST-{n}", name_bo=f"སྦྱོང་བརྡར་སྒྲིག་འཛུགས་ {n}",
                      name_zh=f"培训机构{n}", name_en=f"Institution {n}",
                      kind=InstitutionKind.PUBLIC_TRAINING_BASE, prefecture="540100",
                      subsidy_approved=True)
        fields.update(kw)
        institution = Institution(**fields)
        self.session.add(institution)
        self.session.commit()
        return institution

    def user(self, role: Role | str = Role.LEARNER, *, institution: Institution | None = None,
             password: str = PASSWORD, **kw: Any) -> User:
        role = Role(role)
        if institution is None and role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN):
            institution = self.institution()
        n = next(_seq)
        fields = dict(real_name=kw.pop("real_name", f"བཀྲ་ཤིས་ {n}"),
                      contact=kw.pop("contact", f"user{n}@yonten.example"),
                      password=password, locale=kw.pop("locale", "en"), role=role,
                      institution=institution)
        fields.update(kw)
        user = user_ops.create_user(**fields)
        self.session.commit()
        return user

    def learner(self, **kw: Any) -> User:
        return self.user(Role.LEARNER, **kw)

    def instructor(self, **kw: Any) -> User:
        return self.user(Role.INSTRUCTOR, **kw)

    def institution_admin(self, **kw: Any) -> User:
        return self.user(Role.INSTITUTION_ADMIN, **kw)

    def regional_admin(self, **kw: Any) -> User:
        return self.user(Role.REGIONAL_ADMIN, **kw)

    # --- courses -----------------------------------------------------------------

    def course(self, *, institution: Institution | None = None, published: bool = True,
               lessons: int = 2, sections: int = 1, instructor: User | None = None,
               **kw: Any) -> Course:
        """A course with ``sections`` × ``lessons`` text lessons (1 h each, 0-minute reading)."""
        n = next(_seq)
        institution = institution or (instructor.institution if instructor else None) \
            or self.institution()
        admin = self.author
        values = dict(code=f"C-{n}", title_bo=f"ཐང་ཀ་འབྲི་རྒྱུ། {n}", title_zh=f"唐卡绘画 {n}",
                      title_en=f"Thangka painting {n}", summary_zh="学习唐卡。",
                      occupation_code="6-01-02-01", occupation_name_zh="唐卡画师",
                      skill_level=SkillLevel.LEVEL5, training_type=TrainingType.EMPLOYMENT,
                      nominal_hours=12, subsidised=True)
        values.update(kw)
        course = course_ops.save_course(admin, None, institution=institution, **values)
        if instructor is not None:
            course.instructors.append(instructor)
        for s in range(sections):
            section = course_ops.save_section(admin, course, None, title_en=f"Part {s + 1}",
                                              title_bo=f"ལེའུ་ {s + 1}")
            for i in range(lessons):
                course_ops.save_lesson(admin, section, None, kind="text",
                                       title_en=f"Lesson {s + 1}.{i + 1}",
                                       title_bo=f"སློབ་ཁྲིད་ {s + 1}.{i + 1}",
                                       body_en="Stretch the **canvas**.", credit_hours=1,
                                       min_reading_minutes=0, required=True, is_published=True)
        if published:
            course_ops.publish_course(admin, course)
        self.session.commit()
        return course

    def enrolment(self, learner: User, course: Course) -> Enrolment:
        enrolment = course_ops.enrol(learner, course)
        self.session.commit()
        return enrolment

    # --- records: completed courses and ledger entries ---------------------------------

    def completed_course(self, learner: User, course: Course | None = None,
                         **kw: Any) -> Enrolment:
        """``learner`` completes every lesson of ``course`` (a new one by default) through the
        courses operations, so the real signals credit the ledger and issue the certificate."""
        from lms.core.db import utcnow

        course = course or self.course(**kw)
        enrolment = self.enrolment(learner, course)
        for lesson in course.lessons:
            progress = course_ops.progress_for(enrolment, lesson)
            course_ops.complete_lesson(progress, evidence={"reading_seconds": 90},
                                       verified_seconds=90, now=utcnow())
        self.session.commit()
        return enrolment

    def ledger_entry(self, learner: User, *, hours: str = "2", **kw: Any):
        """One system-credited entry in ``learner``'s chain (an offline-style session)."""
        from lms.core.db import utcnow
        from lms.records import operations as record_ops
        from lms.records.models import EntryKind

        fields = dict(kind=EntryKind.OFFLINE_SESSION, training_type=TrainingType.EMPLOYMENT,
                      hours=hours, occurred_at=utcnow(), reason="workshop")
        fields.update(kw)
        entry, _new = record_ops.credit(learner.id, **fields)
        self.session.commit()
        return entry

    # --- search: a course with real Tibetan, Chinese and English lesson text -------------

    def thangka_course(self, *, published: bool = True, **kw: Any) -> Course:
        """A thangka-painting course like the demo's; its lessons say ཐང་ཀ, 唐卡 and thangka."""
        n = next(_seq)
        values = dict(code=f"THANGKA-{n}", title_bo="ཐང་ཀ་འབྲི་རྒྱུའི་གཞི་རྩའི་སློབ་ཚན།",
                      title_zh="唐卡绘画基础", title_en="Thangka Painting: Foundations",
                      summary_bo="ཐང་ཀ་ནི་བོད་ཀྱི་སྲོལ་རྒྱུན་རི་མོའི་སྒྱུ་རྩལ་གལ་ཆེན་ཞིག་ཡིན།",
                      summary_zh="唐卡是藏族传统绘画艺术。",
                      summary_en="Thangka is the traditional Tibetan art of painted scrolls.",
                      occupation_code="4-13-02-03", occupation_name_bo="ཐང་ཀ་རི་མོ་བ།",
                      occupation_name_zh="唐卡画师", occupation_name_en="Thangka painter")
        values.update(kw)
        course = self.course(lessons=0, published=False, **values)
        section = course.sections[0]
        for lesson in THANGKA_LESSONS:
            course_ops.save_lesson(self.author, section, None, kind="text", credit_hours=1,
                                   min_reading_minutes=0, required=True, is_published=True,
                                   **lesson)
        if published:
            course_ops.publish_course(self.author, course)
        self.session.commit()
        return course

    # --- video: library videos (with stand-in renditions) and video lessons ----------------

    def video(self, *, institution: Institution | None = None, uploader: User | None = None,
              ready: bool = True, duration: float = 60.0, **kw: Any):
        """A library video. A ready one gets stand-in renditions: small files under the names
        the transcoder writes, enough for serving and permission tests (tests of the media
        itself transcode for real)."""
        from lms.core.storage import storage
        from lms.video.models import Video, VideoState

        institution = institution or (uploader.institution if uploader else None) \
            or self.institution()
        n = next(_seq)
        media_dir = storage().new_key("videos")
        fields = dict(institution_id=institution.id, uploader_id=uploader.id if uploader else None,
                      title=f"ཐང་ཀ་བརྙན་ཟློས་ {n}", filename=f"thangka-{n}.mp4", size_bytes=1000,
                      renditions_key=f"{media_dir}/hls", state=VideoState.UPLOADED)
        if ready:
            base = media_dir + "/hls"
            files = {
                "master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=364000,"
                               b"RESOLUTION=426x240\n240p.m3u8\n",
                "240p.m3u8": (b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
                              b"#EXTINF:4.0,\n240p_00000.ts\n#EXT-X-ENDLIST\n"),
                "240p_00000.ts": (b"\x47" + bytes(187)) * 10,  # ten empty TS packets
                "download.mp4": b"\x00\x00\x00\x18ftypisom" + bytes(4000),
                "poster.jpg": b"\xff\xd8\xff\xe0" + bytes(500),
            }
            for name, data in files.items():
                storage().save_bytes(f"{base}/{name}", data)
            fields.update(state=VideoState.READY, duration_s=duration, download_rung="240p",
                          renditions=[{"key": "240p", "width": 426, "height": 240,
                                       "bandwidth": 364000}])
        fields.update(kw)
        video = Video(**fields)
        self.session.add(video)
        self.session.commit()
        return video

    def video_course(self, *, video=None, sequential: bool = False, **kw: Any):
        """A published course whose only lesson plays ``video`` (a ready one by default).

        Returns ``(course, lesson)``.
        """
        from lms.video import operations as video_ops

        if video is not None:
            kw.setdefault("institution", video.institution)
        course = self.course(lessons=0, published=False, sequential=sequential, **kw)
        video = video or self.video(institution=course.institution)
        lesson = course_ops.save_lesson(self.author, course.sections[0], None, kind="video",
                                        title_bo="ཐང་ཀའི་བརྙན་ཟློས།", title_en="Watching the master",
                                        credit_hours=1, required=True, is_published=True)
        video_ops.attach_video(self.author, lesson, video)
        course_ops.publish_course(self.author, course)
        self.session.commit()
        return course, lesson

    def evidence_video(self, *, course: Course | None = None, learner: User | None = None,
                       submitted: bool = True, ready: bool = True):
        """A learner's practical evidence video, as the upload and the transcode leave it: an
        evidence file in a submission (sent for review unless ``submitted`` is False) of a
        practical lesson of ``course``, and its video (stand-in renditions when ``ready``).

        Returns ``(evidence, video)``.
        """
        from lms.assessment.models import Evidence, Submission, SubmissionState
        from lms.assessment.operations import practical
        from lms.core.db import utcnow
        from lms.core.storage import storage
        from lms.video.models import VideoOrigin

        if course is None:
            course = self.course(lessons=1)
        lesson = self.practical_lesson(course, evidence=("video",))
        stage = practical.task_for(lesson).stages[0]
        learner = learner or self.learner()
        enrolment = self.session.query(Enrolment).filter_by(
            user_id=learner.id, course_id=course.id).one_or_none() or self.enrolment(learner,
                                                                                     course)
        submission = Submission(
            task_id=stage.task_id, stage_id=stage.id, user_id=learner.id,
            enrolment_id=enrolment.id, number=1,
            state=SubmissionState.SUBMITTED if submitted else SubmissionState.DRAFT,
            submitted_at=utcnow() if submitted else None)
        self.session.add(submission)
        self.session.flush()
        key = storage().new_key("evidence", ".mp4")
        storage().save_bytes(key, b"\x00\x00\x00\x18ftypisom" + bytes(2000))
        evidence = Evidence(submission_id=submission.id, kind="video", key=key,
                            filename="my-thangka.mp4", content_type="video/mp4", size=2012)
        self.session.add(evidence)
        self.session.commit()
        video = self.video(institution=course.institution, uploader=learner, ready=ready,
                           origin=VideoOrigin.EVIDENCE, source_key=key,
                           title=evidence.filename, filename=evidence.filename)
        evidence.meta = {"video": video.id}
        self.session.commit()
        return evidence, video

    # --- assessment: question banks, quizzes and practical tasks ---------------------------

    def questions(self, course: Course, gift: str | None = None, **kw: Any) -> list:
        """Questions imported into ``course``'s bank from GIFT text (``QUIZ_GIFT`` by default)."""
        from lms.assessment.gift import parse_gift
        from lms.assessment.operations import banks

        result = parse_gift(gift or QUIZ_GIFT)
        assert result.ok, [str(e) for e in result.errors]
        created = banks.import_questions(None, course, result.questions, **kw)
        self.session.commit()
        return created

    def quiz_lesson(self, course: Course, *, gift: str | None = None, **settings: Any):
        """A quiz lesson over GIFT questions (``QUIZ_GIFT``): a fixed list in file order,
        nothing shuffled, no time limit, unlimited attempts, 60% to pass."""
        from lms.assessment.operations import quizzes

        questions = self.questions(course, gift)
        lesson = course_ops.save_lesson(self.author, course.sections[0], None, kind="quiz",
                                        title_bo="ཚོད་ལྟ།", title_en="Materials quiz",
                                        credit_hours=1, required=True, is_published=True)
        values = dict(selection="fixed", questions=[q.id for q in questions],
                      question_count=10, shuffle_questions=False, shuffle_options=False,
                      pass_percent=60, time_limit_minutes=0, max_attempts=0,
                      grading="highest", review="after_submission")
        values.update(settings)
        quizzes.save_quiz_settings(self.author, lesson, **values)
        self.session.commit()
        return lesson

    def practical_lesson(self, course: Course, *, stages: tuple[str, ...] = (),
                         evidence: tuple[str, ...] = ("photo",), pass_percent: int = 60):
        """A practical lesson with one rubric criterion scored 0, 2 or 4 points, and the
        titled ``stages`` (none: one untitled stage)."""
        from lms.assessment.operations import practical

        lesson = course_ops.save_lesson(self.author, course.sections[0], None, kind="practical",
                                        title_bo="ལག་ལེན།", title_en="Paint the eyes",
                                        body_en="Paint the **eyes** last.", credit_hours=2,
                                        required=True, is_published=True)
        task = practical.save_task(self.author, lesson, evidence_kinds=list(evidence),
                                   pass_percent=pass_percent)
        for n, title in enumerate(stages):
            practical.save_stage(self.author, task, task.stages[0] if n == 0 else None,
                                 title_en=title)
        practical.save_criterion(self.author, task, None, stage_id=None, title_en="Proportions",
                                 title_bo="ཚད།", levels=[{"points": p, "title_en": label}
                                                       for p, label in ((0, "Wrong"),
                                                                        (2, "Close"),
                                                                        (4, "Exact"))])
        self.session.commit()
        return lesson

    def assessed_course(self, *, quiz: dict | None = None, practical: dict | None = None,
                        **kw: Any) -> tuple[Course, Any, Any]:
        """A published course with a quiz lesson and then a practical lesson (``quiz`` and
        ``practical`` set them up). Returns ``(course, quiz_lesson, practical_lesson)``."""
        course = self.course(lessons=0, published=False, **kw)
        quiz_lesson = self.quiz_lesson(course, **(quiz or {}))
        practical_lesson = self.practical_lesson(course, **(practical or {}))
        course_ops.publish_course(self.author, course)
        self.session.commit()
        return course, quiz_lesson, practical_lesson


#: Three questions worth a point each: true/false (true), single choice (Azurite), and a
#: short answer ("lha bris pa", or "ri mo mkhan" for half).
QUIZ_GIFT = """\
::canvas::A thangka canvas is primed with glue and white clay.{T}

::blue::Which mineral gives the blue of a thangka?{
\t=Azurite#Yes: azurite is ground into blue.
\t~Cinnabar#Cinnabar gives red.
\t~Malachite
}

::painter::What is a thangka painter called in Tibetan?{=lha bris pa#Right. =%50%ri mo mkhan#Close.}
"""


#: Lessons of ``Factories.thangka_course``: Tibetan written for them, Chinese from the seed
#: document (Tibet's 2018 opinions on lifelong vocational skills training) and after it.
THANGKA_LESSONS = (
    dict(title_bo="ཐང་ཀའི་ལོ་རྒྱུས།", title_zh="唐卡的历史", title_en="The history of thangka",
         body_bo=("**ཐང་ཀ**་ནི་རས་དང་དར་གྱི་སྟེང་དུ་བྲིས་པའི་ལྷ་སྐུའི་རི་མོ་ཡིན། "
                  "ཐང་ཀའི་ལག་རྩལ་ནི་དཔོན་སློབ་བརྒྱུད་ནས་མི་རབས་ནས་མི་རབས་སུ་བརྒྱུད་ཡོད།"),
         body_zh="开展唐卡、藏香、传统雕刻等我区民族特色手工艺“以师带徒”培训。",
         body_en="Thangka painting is passed on from master to apprentice."),
    dict(title_bo="ཚོན་རྩི་སྦྱོར་སྟངས།", title_zh="颜料的研磨与调制",
         title_en="Grinding and mixing pigments",
         body_bo="མཐིང་ཤེལ་དང་། སྤང་མ། མཚལ་སོགས་རྡོ་ཚོན་རྣམས་ཞིབ་མོར་བཏགས་ནས་ཐང་ཀའི་ཚོན་རྩི་བཟོ།",
         body_zh="将石青、石绿、朱砂等矿物细细研磨，再与胶调和成唐卡颜料。",
         body_en=("Azurite, malachite and cinnabar are ground very fine and mixed with glue: "
                  "the paint of a [thangka](https://example.org/thangka).")),
)
