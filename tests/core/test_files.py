"""Uploaded documents are checked by what they contain."""

from __future__ import annotations

import pytest

from lms.core.errors import UserError
from lms.core.files import clean_pdf

PLAIN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_plain_pdf_is_accepted():
    assert clean_pdf(PLAIN).content_type == "application/pdf"


@pytest.mark.parametrize("active", [
    b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
    b"/OpenAction << /S /J#61vaScript /JS (x) >>",       # a name spelled with an escape
    b"/AA << /O << /S /Launch /F (cmd.exe) >> >>",
    b"/URI (javascript:alert(1))",
    b"/Names << /EmbeddedFiles << >> >> /EmbeddedFile",
])
def test_pdfs_with_active_content_are_refused(active):
    data = PLAIN.replace(b"/Type /Catalog", b"/Type /Catalog " + active)
    with pytest.raises(UserError):
        clean_pdf(data)


def test_a_pdf_cut_short_is_refused():
    with pytest.raises(UserError, match="incomplete"):
        clean_pdf(PLAIN[:-8])
