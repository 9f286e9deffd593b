"""Uploaded files checked by what they contain, never by their name.

Images are decoded and re-encoded (which drops metadata such as GPS position
and anything smuggled after the pixels); PDFs must look like PDFs and carry no
active content. Everything else is refused with a message the user can act on.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from lms.core.errors import UserError

#: Refuse images that would take more than ~160 MB to decode (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA|AA|OpenAction)\b"
                         rb"|javascript:", re.IGNORECASE)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class CleanFile:
    """A checked file, ready to store: its bytes, its real type and a file-name extension."""

    data: bytes
    content_type: str
    extension: str


def sniff(head: bytes) -> str | None:
    """The content type the first bytes reveal, for the types Yonten accepts at all."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/x-matroska"
    return None


def clean_image(data: bytes, *, max_side: int = 2048) -> CleanFile:
    """Decode an image (JPEG, PNG or WebP), shrink it to ``max_side`` and re-encode it."""
    kind = sniff(data[:16])
    if kind not in ("image/jpeg", "image/png", "image/webp"):
        raise UserError(_l("This file is not a JPEG, PNG or WebP image."), "file")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError):
        raise UserError(_l("This image is damaged or too large to open."), "file") from None
    image = ImageOps.exif_transpose(image)
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P") and kind == "image/png":
        image.save(out, "PNG", optimize=True)
        return CleanFile(out.getvalue(), "image/png", ".png")
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return CleanFile(out.getvalue(), "image/jpeg", ".jpg")


def clean_pdf(data: bytes) -> CleanFile:
    """Accept a PDF that is whole and names no scripts, actions or embedded files.

    This reads the file's plain structure (with ``#xx`` escapes in names
    decoded); it cannot see inside compressed object streams, so it is a
    filter, not a guarantee. That is why PDFs are only ever served as
    downloads, never shown in a page of this site.
    """
    if sniff(data[:8]) != "application/pdf":
        raise UserError(_l("This file is not a PDF."), "file")
    if b"%%EOF" not in data[-2048:]:
        raise UserError(_l("This PDF is incomplete; please upload it again."), "file")
    if _PDF_ACTIVE.search(_PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)):
        raise UserError(_l("This PDF contains scripts or embedded files, which are not "
                           "allowed. Print it to a new PDF and upload that."), "file")
    return CleanFile(data, "application/pdf", ".pdf")


def clean_document(data: bytes, *, max_bytes: int) -> CleanFile:
    """A PDF or an image, checked by content; anything else is refused."""
    if not data:
        raise UserError(_l("The file is empty."), "file")
    if len(data) > max_bytes:
        raise UserError(_l("The file is larger than %(mb)s MB.", mb=max_bytes // 2**20), "file")
    if sniff(data[:16]) == "application/pdf":
        return clean_pdf(data)
    return clean_image(data)
