"""Named signals through which domains talk without importing each other.

The sender is the operation that changed something; listeners connect in
their own package (``records`` listens to ``courses``, ``video`` and
``assessment``). Receivers run inside the sender's unit of work: they flush,
never commit, so a failure rolls everything back together.
"""

from blinker import Namespace

_signals = Namespace()

#: A learner completed a lesson: kwargs ``enrolment``, ``lesson``, ``progress``.
lesson_completed = _signals.signal("lesson-completed")
#: A learner completed every required lesson of a course: kwargs ``enrolment``.
course_completed = _signals.signal("course-completed")
#: A reviewer approved a practical submission: kwargs ``submission``, ``review``.
practical_approved = _signals.signal("practical-approved")
#: A video finished transcoding and can be played: kwargs ``video``.
video_ready = _signals.signal("video-ready")
#: A course was published (also sent when a published course is edited): kwargs ``course``.
course_published = _signals.signal("course-published")
#: A course left the catalogue (unpublished or archived): kwargs ``course``.
course_withdrawn = _signals.signal("course-withdrawn")
#: An institution's names, region or standing changed: kwargs ``institution``.
institution_changed = _signals.signal("institution-changed")
#: A user account was created: kwargs ``user``.
user_registered = _signals.signal("user-registered")
