"""Serving behind nginx: media handed over by X-Accel-Redirect, and trusted proxies."""

from __future__ import annotations

import pytest

from lms import create_app
from lms.core.storage import send_media, storage


@pytest.mark.parametrize("name", ["report.pdf", "ཐང་ཀ་ 唐卡.pdf"])
def test_nginx_is_told_to_send_a_download_as_an_attachment_under_its_name(app, name):
    storage().save_bytes("evidence/x.pdf", b"%PDF-1.4\n%%EOF\n")
    with app.test_request_context("/"):
        served = send_media("evidence/x.pdf", mimetype="application/pdf", download_name=name)
        app.config["MEDIA_X_ACCEL_PREFIX"] = "/protected-media/"
        handed = send_media("evidence/x.pdf", mimetype="application/pdf", download_name=name)
    assert handed.headers["X-Accel-Redirect"] == "/protected-media/evidence/x.pdf"
    assert handed.get_data() == b""
    assert handed.headers["Content-Disposition"].startswith("attachment; filename=")
    for header in ("Content-Disposition", "Content-Security-Policy", "X-Content-Type-Options"):
        assert handed.headers[header] == served.headers[header]
    served.close()


def test_forwarded_https_counts_only_from_a_trusted_proxy(base_config, tmp_path):
    https = {"X-Forwarded-Proto": "https"}
    direct = create_app({**base_config, "SEARCH_INDEX_PATH": str(tmp_path / "a")})
    assert "Strict-Transport-Security" not in direct.test_client().get(
        "/healthz", headers=https).headers
    proxied = create_app({**base_config, "TRUSTED_PROXIES": 1,
                          "SEARCH_INDEX_PATH": str(tmp_path / "b")})
    assert "Strict-Transport-Security" in proxied.test_client().get(
        "/healthz", headers=https).headers
    assert "Strict-Transport-Security" not in proxied.test_client().get("/healthz").headers
