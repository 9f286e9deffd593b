"""Resumable uploads: a big file arrives in chunks and survives dropped connections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import Base, TimestampMixin, enum_column


class UploadState(StrEnum):
    RECEIVING = "receiving"
    COMPLETE = "complete"
    CLAIMED = "claimed"
    ABORTED = "aborted"


class Upload(TimestampMixin, Base):
    """One file being uploaded: how much of it is stored, and who may continue it."""

    __tablename__ = "uploads"

    #: An unguessable token; the URL of the upload is its only handle.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    #: The name on the user's device: shown back to them, never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The content type the first bytes revealed.
    content_type: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[UploadState] = mapped_column(enum_column(UploadState),
                                               default=UploadState.RECEIVING)
    #: Where the bytes are (``uploads/ab/abcd….part`` under the media root).
    key: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]

    @property
    def percent(self) -> int:
        return 100 if not self.size else int(100 * self.received / self.size)
