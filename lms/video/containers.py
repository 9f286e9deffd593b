"""The top-level structure of a video file, read from its own bytes before any decoder.

An MP4/MOV file is a chain of boxes that must fit in the file and include the
index (``moov``); a Matroska/WebM file is an EBML header followed by a Segment
that must fit. A file cut short in upload fails here, cheaply, with a reason its
owner understands, instead of deep inside ffmpeg.
"""

from __future__ import annotations

import os
from typing import BinaryIO

#: Box types that may open an ISO-BMFF/QuickTime file.
MP4_LEADING_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free"})
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
MATROSKA_SEGMENT_ID = b"\x18\x53\x80\x67"
#: A fragmented MP4 has two top-level boxes per fragment; far beyond any real file.
MAX_TOP_LEVEL_BOXES = 100_000


class Truncated(ValueError):
    """The file ends before its structure does."""


class Damaged(ValueError):
    """The structure is not what the container's format allows."""


def sniff_container(fh: BinaryIO, size: int) -> str | None:
    """``"mp4"`` or ``"matroska"`` (the demuxer to force) when the first bytes announce one
    and its structure fits the file's ``size``; None for anything else."""
    fh.seek(0)
    head = fh.read(16)
    if head[:4] == EBML_MAGIC:
        _check_matroska(fh, size)
        return "matroska"
    if head[4:8] in MP4_LEADING_BOXES:
        _check_mp4(fh, size)
        return "mp4"
    return None


def _check_mp4(fh: BinaryIO, size: int) -> None:
    """Every top-level box must fit in the file, and the index (``moov``) must be there."""
    offset, boxes, seen_moov = 0, 0, False
    while offset < size:
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            raise Truncated()
        box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if box_size == 1:
            if len(header) < 16:
                raise Truncated()
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            box_size = size - offset
        boxes += 1
        if box_size < 8 or not all(0x20 <= b < 0x7F for b in kind) or boxes > MAX_TOP_LEVEL_BOXES:
            raise Damaged("top-level box")
        if offset + box_size > size:
            raise Truncated()
        seen_moov = seen_moov or kind == b"moov"
        offset += box_size
    if not seen_moov:
        raise Truncated()


def _read_vint(fh: BinaryIO) -> tuple[int, bool] | None:
    """An EBML variable-length integer and whether it means "unknown size"."""
    first = fh.read(1)
    if not first or first[0] == 0:
        return None
    length = 8 - first[0].bit_length() + 1
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = first[0] & (0xFF >> length)
    for byte in rest:
        value = (value << 8) | byte
    return value, value == (1 << (7 * length)) - 1


def _check_matroska(fh: BinaryIO, size: int) -> None:
    """The EBML header and the Segment it announces must fit in the file."""
    fh.seek(len(EBML_MAGIC))
    header = _read_vint(fh)
    if header is None:
        raise Truncated()
    fh.seek(header[0], os.SEEK_CUR)
    if fh.read(4) != MATROSKA_SEGMENT_ID:
        raise Truncated() if fh.tell() >= size else Damaged("no Matroska segment")
    segment = _read_vint(fh)
    if segment is None:
        raise Truncated()
    segment_size, unknown = segment
    if not unknown and fh.tell() + segment_size > size:
        raise Truncated()
