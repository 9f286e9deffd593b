"""Who may upload, use and change the videos of an institution's library."""

from __future__ import annotations

from lms.users.models import Role, User
from lms.video.models import Video, VideoOrigin

UPLOADERS = (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)


def can_upload_video(user: User) -> bool:
    """Instructors and administrators who belong to an institution (its library gets the video)."""
    return (user.is_authenticated and user.role in UPLOADERS
            and user.institution_id is not None)


def can_use_video(user: User, video: Video) -> bool:
    """See a video in the library, preview it and attach it to lessons: the staff of its
    institution, and regional administrators. A learner's evidence video is not library
    material: assessment serves it to those who may see the evidence."""
    if not user.is_authenticated or video.origin != VideoOrigin.LIBRARY:
        return False
    if user.role == Role.REGIONAL_ADMIN:
        return True
    return (user.role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN)
            and user.institution_id == video.institution_id)


def can_edit_video(user: User, video: Video) -> bool:
    """Rename, subtitle, retry or delete a video: its uploader, the institution's
    administrators, and regional administrators."""
    if not can_use_video(user, video):
        return False
    return user.role != Role.INSTRUCTOR or video.uploader_id == user.id


def can_attach_to_course(video: Video, course) -> bool:
    """A lesson plays only a video of its own course's institution."""
    return video.institution_id == course.institution_id
