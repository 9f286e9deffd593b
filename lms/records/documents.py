"""What the record's documents say: the certificate and record PDFs' data and the JSON record.

PDFs print Tibetan, Chinese and English side by side, whatever the reader's
interface language, so the names of training types, skill levels and entry
kinds are given here in all three rather than through gettext.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app

from lms.core.db import utcnow
from lms.core.i18n import DISPLAY_TZ
from lms.courses.models import SkillLevel, TrainingType
from lms.records.models import Certificate, EntryKind
from lms.records.pdf import (
    CertificateData,
    Multilingual,
    RecordCertificate,
    RecordData,
    RecordEntry,
    RecordTotal,
)
from lms.records.util import RecordSummary

TRAINING_TYPE_TEXT = {
    TrainingType.EMPLOYMENT: Multilingual("ལས་ཞུགས་ལག་རྩལ་སྦྱོང་བརྡར།", "就业技能培训",
                                          "Employment skills training"),
    TrainingType.UPGRADING: Multilingual("ལས་གནས་ལག་རྩལ་ཇེ་མཐོར་གཏོང་བའི་སྦྱོང་བརྡར།",
                                         "岗位技能提升培训", "On-the-job skills upgrading"),
    TrainingType.ENTREPRENEURSHIP: Multilingual("ལས་གཞི་གསར་འཛུགས་དང་གསར་གཏོད་སྦྱོང་བརྡར།",
                                                "创业创新培训",
                                                "Entrepreneurship and innovation training"),
    TrainingType.APPRENTICESHIP: Multilingual("སློབ་དཔོན་གྱིས་སློབ་ཕྲུག་ཁྲིད་པའི་སྦྱོང་བརྡར།",
                                              "以师带徒培训",
                                              "Apprenticeship (master and apprentice)"),
}

SKILL_LEVEL_TEXT = {
    SkillLevel.LEVEL5: Multilingual("རིམ་པ་ལྔ་པ། · འགོ་རིམ་བཟོ་པ།", "五级/初级工",
                                    "Level 5 · Junior worker"),
    SkillLevel.LEVEL4: Multilingual("རིམ་པ་བཞི་པ། · བར་རིམ་བཟོ་པ།", "四级/中级工",
                                    "Level 4 · Intermediate worker"),
    SkillLevel.LEVEL3: Multilingual("རིམ་པ་གསུམ་པ། · མཐོ་རིམ་བཟོ་པ།", "三级/高级工",
                                    "Level 3 · Senior worker"),
    SkillLevel.LEVEL2: Multilingual("རིམ་པ་གཉིས་པ། · ལག་རྩལ་པ།", "二级/技师",
                                    "Level 2 · Technician"),
    SkillLevel.LEVEL1: Multilingual("རིམ་པ་དང་པོ། · མཐོ་རིམ་ལག་རྩལ་པ།", "一级/高级技师",
                                    "Level 1 · Senior technician"),
}

ENTRY_KIND_TEXT = {
    EntryKind.LESSON_COMPLETED: Multilingual("སློབ་ཁྲིད་ལེགས་གྲུབ།", "课节完成",
                                             "Lesson completed"),
    EntryKind.COURSE_COMPLETED: Multilingual("སློབ་ཚན་ལེགས་གྲུབ།", "课程结业",
                                             "Course completed"),
    EntryKind.PRACTICAL_APPROVED: Multilingual("ལག་ལེན་ལས་འགན་ཚད་ལོངས།", "实操任务合格",
                                               "Practical work approved"),
    EntryKind.OFFLINE_SESSION: Multilingual("ངོ་ཐུག་སྦྱོང་བརྡར།", "线下培训",
                                            "In-person training session"),
    EntryKind.SKILL_CERTIFICATE: Multilingual("ལག་རྩལ་རིམ་པའི་ལག་ཁྱེར།", "技能等级证书",
                                              "Skill-level certificate"),
    EntryKind.COMPETITION: Multilingual("ལག་རྩལ་འགྲན་བསྡུར།", "技能竞赛",
                                        "Skills competition"),
    EntryKind.REVERSAL: Multilingual("བཅོས་སྒྲིག", "更正", "Correction"),
}

NO_INSTITUTION = Multilingual("ལས་ཁུངས་གཞན།", "其他机构", "Elsewhere")
NO_COURSE = Multilingual("—", "—", "—")


def multilingual(obj: Any, field: str) -> Multilingual:
    """``obj.<field>_bo/_zh/_en`` (or a dict with bo/zh/en keys) as a Multilingual."""
    if obj is None:
        return NO_COURSE
    if isinstance(obj, dict):
        return Multilingual(obj.get("bo") or "", obj.get("zh") or "", obj.get("en") or "")
    return Multilingual(*(getattr(obj, f"{field}_{lang}", None) or "" for lang in
                          ("bo", "zh", "en")))


def verify_url(serial: str) -> str:
    """The public verification page of a certificate (the QR code's target)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/verify/{serial}"


def local_date(moment: datetime):
    return moment.astimezone(DISPLAY_TZ).date()


def certificate_data(cert: Certificate) -> CertificateData:
    """What the certificate PDF prints, from the data frozen when it was issued."""
    data = cert.data
    return CertificateData(
        serial=cert.serial, learner_name=data["learner_name"],
        masked_id_number=data.get("masked_id") or "—",
        course_title=multilingual(data["course_title"], ""),
        occupation_name=multilingual(data["occupation_name"], ""),
        occupation_code=data["occupation_code"],
        skill_level=SKILL_LEVEL_TEXT[SkillLevel(data["skill_level"])],
        hours=Decimal(cert.hours), start_date=cert.started_on, end_date=cert.completed_on,
        institution_name=multilingual(data["institution_name"], ""),
        issued_on=local_date(cert.issued_at), revoked=cert.is_revoked)


def record_data(summary: RecordSummary) -> RecordData:
    """The record PDF's content for one learner."""
    learner = summary.learner
    return RecordData(
        learner_name=learner.real_name, masked_id_number=learner.resident_id_masked or "—",
        generated_at=utcnow().astimezone(DISPLAY_TZ),
        totals_by_type=[RecordTotal(TRAINING_TYPE_TEXT[t], h) for t, h in summary.by_type],
        totals_by_year=[RecordTotal(Multilingual(str(y), str(y), str(y)), h)
                        for y, h in summary.by_year],
        totals_by_institution=[
            RecordTotal(multilingual(i, "name") if i else NO_INSTITUTION, h)
            for i, h in summary.by_institution],
        entries=[RecordEntry(
            occurred_on=local_date(e.occurred_at),
            institution=multilingual(e.institution, "name") if e.institution
            else NO_INSTITUTION,
            course=multilingual(e.course, "title") if e.course else
            Multilingual(e.reason or "", e.reason or "", e.reason or ""),
            kind=ENTRY_KIND_TEXT[e.kind], training_type=TRAINING_TYPE_TEXT[e.training_type],
            hours=Decimal(e.hours), verified_seconds=max(e.verified_seconds, 0))
            for e in summary.entries],
        certificates=[RecordCertificate(
            serial=c.serial, course_title=multilingual(c.data["course_title"], ""),
            skill_level=SKILL_LEVEL_TEXT[SkillLevel(c.data["skill_level"])],
            hours=Decimal(c.hours), issued_on=local_date(c.issued_at), revoked=c.is_revoked)
            for c in summary.certificates])


def record_json(summary: RecordSummary) -> dict[str, Any]:
    """The whole record as JSON: totals, every entry with its chain hashes, certificates."""
    learner = summary.learner

    def hours(value: Decimal) -> str:
        return f"{Decimal(value):.2f}"

    def named(obj: Any, field: str) -> dict[str, str] | None:
        if obj is None:
            return None
        return {lang: value for lang in ("bo", "zh", "en")
                if (value := getattr(obj, f"{field}_{lang}", None))}

    return {
        "learner": {"name": learner.real_name, "id_number": learner.resident_id_masked},
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "total_hours": hours(summary.total_hours),
        "totals": {
            "by_training_type": {t.value: hours(h) for t, h in summary.by_type},
            "by_year": {str(y): hours(h) for y, h in summary.by_year},
            "by_institution": [{"code": i.code if i else None, "name": named(i, "name"),
                                "hours": hours(h)} for i, h in summary.by_institution],
        },
        "entries": [{
            "seq": e.seq, "id": e.id, "kind": e.kind.value,
            "occurred_at": e.occurred_at.isoformat(timespec="seconds"),
            "recorded_at": e.recorded_at.isoformat(timespec="seconds"),
            "training_type": e.training_type.value,
            "skill_level": e.skill_level.value if e.skill_level else None,
            "hours": hours(e.hours), "verified_seconds": e.verified_seconds,
            "institution": {"code": e.institution.code, "name": named(e.institution, "name")}
            if e.institution else None,
            "course": {"code": e.course.code, "title": named(e.course, "title")}
            if e.course else None,
            "lesson": named(e.lesson, "title"),
            "entered_by": e.source.value, "reason": e.reason, "reverses": e.reverses_id,
            "prev_hash": e.prev_hash, "hash": e.hash,
        } for e in summary.entries],
        "certificates": [{
            "serial": c.serial, "course": c.data["course_title"], "hours": hours(c.hours),
            "started_on": c.started_on.isoformat(), "completed_on": c.completed_on.isoformat(),
            "issued_on": local_date(c.issued_at).isoformat(),
            "status": "revoked" if c.is_revoked else "valid", "verify_url": verify_url(c.serial),
        } for c in summary.certificates],
    }
