"""URL table of courses: the catalogue, learning and authoring."""

from flask import Blueprint

from lms.courses.controllers import authoring as a
from lms.courses.controllers import learning as c

bp = Blueprint("courses", __name__, template_folder="templates")
bp.record_once(c.install)

# Public catalogue and course pages.
bp.add_url_rule("/courses/", "catalogue", c.catalogue)
bp.add_url_rule("/courses/subsidised", "subsidised", c.subsidised)
bp.add_url_rule("/institutions/", "institutions", c.institutions)
bp.add_url_rule("/courses/<int:course_id>", "display", c.display)
bp.add_url_rule("/courses/<int:course_id>/cover", "cover", c.cover)

# Learners.
bp.add_url_rule("/learning/", "my_learning", c.my_learning)
bp.add_url_rule("/courses/<int:course_id>/enrol", "enrol", c.enrol, methods=["POST"])
bp.add_url_rule("/courses/<int:course_id>/withdraw", "withdraw", c.withdraw, methods=["POST"])
bp.add_url_rule("/courses/<int:course_id>/continue", "resume", c.resume)
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>", "lesson", c.lesson)
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/reading", "reading",
                c.reading, methods=["POST"])
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/files/<int:attachment_id>",
                "attachment", c.attachment)

# Authoring.
bp.add_url_rule("/teach/", "teach", a.index)
bp.add_url_rule("/teach/courses/new", "new_course", a.edit_course, methods=["GET", "POST"])
bp.add_url_rule("/teach/courses/<int:course_id>", "edit_course", a.edit_course,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/outline", "outline", a.outline)
bp.add_url_rule("/teach/courses/<int:course_id>/order", "reorder", a.reorder, methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/<any(publish,unpublish,archive):action>",
                "change_status", a.change_status, methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/prerequisites", "prerequisites",
                a.prerequisites, methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/instructors", "instructors", a.instructors,
                methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/cover", "upload_cover", a.upload_cover,
                methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/progress", "progress", a.progress)
bp.add_url_rule("/teach/courses/<int:course_id>/sections/new", "new_section", a.edit_section,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/sections/<int:section_id>", "edit_section", a.edit_section,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/sections/<int:section_id>/lessons/new", "new_lesson", a.edit_lesson,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>", "edit_lesson", a.edit_lesson,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/delete", "delete_lesson", a.delete_lesson,
                methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/files", "add_attachment", a.add_attachment,
                methods=["POST"])
bp.add_url_rule("/teach/files/<int:attachment_id>/delete", "delete_attachment",
                a.delete_attachment, methods=["POST"])
