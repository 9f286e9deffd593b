"""Resumable uploads: chunks in order, never twice, never beyond the size; resume; refusals."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.core.storage import storage
from lms.uploads import operations
from lms.uploads.models import Upload, UploadState

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41"
CHUNK = 1024


@pytest.fixture(autouse=True)
def small_chunks(app):
    app.config["UPLOAD_CHUNK_BYTES"] = CHUNK
    operations.register_purpose(operations.Purpose(
        "test-video", lambda: 10 * CHUNK, frozenset({"video/mp4"})))
    yield
    operations.PURPOSES.pop("test-video", None)


def file_bytes(size: int = 3 * CHUNK + 100) -> bytes:
    body = bytes((i * 7) % 251 for i in range(size - len(MP4_HEAD)))
    return MP4_HEAD + body


def start(client, data: bytes, purpose="test-video"):
    response = client.post("/uploads/", json={"purpose": purpose, "filename": "ཐང་ཀ.mp4",
                                              "size": len(data)})
    return response


def put(client, upload_id, offset, piece, **headers):
    return client.put(f"/uploads/{upload_id}?offset={offset}", data=piece,
                      headers={"X-CSRFToken": client.csrf_token(),
                               "Content-Type": "application/octet-stream", **headers})


def test_a_file_arrives_in_chunks_and_is_stored_whole(login_as, make, db):
    client = login_as(make.instructor())
    data = file_bytes()
    upload = start(client, data).json
    assert upload["offset"] == 0 and upload["chunk_size"] == CHUNK
    offset = 0
    while offset < len(data):
        piece = data[offset:offset + CHUNK]
        response = put(client, upload["id"], offset, piece,
                       **{"X-Chunk-SHA256": hashlib.sha256(piece).hexdigest()})
        assert response.status_code == 200, response.json
        offset = response.json["offset"]
    assert client.post(f"/uploads/{upload['id']}/complete").json["state"] == "complete"
    row = db.session.get(Upload, upload["id"])
    assert storage().path(row.key).read_bytes() == data
    assert row.content_type == "video/mp4" and row.filename == "ཐང་ཀ.mp4"


def test_after_a_dropped_connection_the_upload_resumes_where_it_stopped(login_as, make):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    put(client, upload_id, CHUNK, data[CHUNK:2 * CHUNK])
    # The page reloads: it asks where to continue.
    assert client.get(f"/uploads/{upload_id}").json["offset"] == 2 * CHUNK



def test_a_chunk_cut_off_mid_way_leaves_no_temporary_file(login_as, make, db):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    folder = storage().path(db.session.get(Upload, upload_id).key).parent
    # The phone announces a whole chunk, sends a tenth of it, and the connection drops.
    response = client.put(f"/uploads/{upload_id}?offset=0",
                          input_stream=io.BytesIO(data[:CHUNK // 10]),
                          headers={"X-CSRFToken": client.csrf_token(),
                                   "Content-Type": "application/octet-stream"},
                          environ_overrides={"CONTENT_LENGTH": str(CHUNK)})
    assert response.status_code == 400
    assert [p.name for p in folder.iterdir() if p.name.endswith(".chunk")] == []
    assert client.get(f"/uploads/{upload_id}").json["offset"] == 0

def test_a_chunk_sent_twice_or_out_of_order_is_refused_with_the_right_offset(login_as, make):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    twice = put(client, upload_id, 0, data[:CHUNK])
    assert twice.status_code == 409 and twice.json["offset"] == CHUNK
    skipped = put(client, upload_id, 2 * CHUNK, data[2 * CHUNK:3 * CHUNK])
    assert skipped.status_code == 409 and skipped.json["offset"] == CHUNK


def test_nothing_is_written_beyond_the_announced_size(login_as, make, db):
    client = login_as(make.instructor())
    data = file_bytes(CHUNK + 10)
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    response = put(client, upload_id, CHUNK, data[CHUNK:] + b"overflow!!")
    assert response.status_code == 400
    row = db.session.get(Upload, upload_id)
    assert row.received == CHUNK
    assert storage().path(row.key).stat().st_size == CHUNK


def test_a_damaged_chunk_is_refused(login_as, make, db):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    response = put(client, upload_id, 0, data[:CHUNK], **{"X-Chunk-SHA256": "0" * 64})
    assert response.status_code == 400 and "damaged" in response.json["error"]
    assert db.session.get(Upload, upload_id).received == 0


def test_a_chunk_larger_than_the_chunk_size_is_refused(login_as, make):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    assert put(client, upload_id, 0, data[:CHUNK + 1]).status_code == 400


def test_a_text_file_is_refused_at_its_first_chunk_and_deleted(login_as, make, db):
    client = login_as(make.instructor())
    data = b"#EXTM3U\n#EXT-X-VERSION:3\n" + b"x" * 100
    upload_id = start(client, data).json["id"]
    response = put(client, upload_id, 0, data)
    assert response.status_code == 415
    row = db.session.get(Upload, upload_id)
    assert row.state == UploadState.ABORTED
    assert not storage().path(row.key).exists()


def test_a_file_over_the_limit_is_refused_before_any_byte_is_sent(login_as, make):
    client = login_as(make.instructor())
    response = client.post("/uploads/", json={"purpose": "test-video", "filename": "big.mp4",
                                              "size": 11 * CHUNK})
    assert response.status_code == 413 and "limit" in response.json["error"]


def test_a_zero_byte_file_is_refused(login_as, make):
    client = login_as(make.instructor())
    response = client.post("/uploads/", json={"purpose": "test-video", "filename": "e.mp4",
                                              "size": 0})
    assert response.status_code == 400


def test_an_incomplete_upload_cannot_be_completed(login_as, make):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    assert client.post(f"/uploads/{upload_id}/complete").status_code == 409


def test_nobody_else_can_see_or_continue_an_upload(app, login_as, make):
    owner_client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(owner_client, data).json["id"]
    other = app.test_client()
    with other.session_transaction() as sess:
        sess["_user_id"] = make.instructor().get_id()
    assert other.get(f"/uploads/{upload_id}").status_code == 404
    assert put(other, upload_id, 0, data[:CHUNK]).status_code == 404


def test_an_unknown_purpose_is_forbidden(login_as, make):
    client = login_as(make.learner())
    assert start(client, file_bytes(), purpose="nonsense").status_code == 403


def test_chunks_without_a_csrf_token_are_refused(login_as, make):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    response = client.put(f"/uploads/{upload_id}?offset=0", data=data[:CHUNK],
                          headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 400


def test_a_plain_form_upload_goes_through_the_same_checks(app, make, db):
    owner = make.instructor()
    data = file_bytes()
    upload = operations.store_file(owner, purpose="test-video", filename="a.mp4",
                                   stream=io.BytesIO(data), size=len(data))
    assert upload.state == UploadState.COMPLETE
    assert storage().path(upload.key).read_bytes() == data
    claimed = operations.claim_upload(upload.id, owner, "test-video")
    assert claimed.state == UploadState.CLAIMED


def test_a_plain_form_upload_refused_at_its_first_bytes_leaves_no_file(app, make, db):
    owner = make.instructor()
    data = b"<html>" + b"x" * 3000
    uploads_dir = storage().path("uploads/xx").parent
    before = set(uploads_dir.rglob("*")) if uploads_dir.exists() else set()
    with pytest.raises(operations.ContentRejected):
        operations.store_file(owner, purpose="test-video", filename="a.mp4",
                              stream=io.BytesIO(data), size=len(data))
    db.session.rollback()
    after = set(uploads_dir.rglob("*")) if uploads_dir.exists() else set()
    assert {p for p in after - before if p.is_file()} == set()


@pytest.mark.parametrize("body", [[1], {"size": 1e400}, {"size": "12"}, {"size": True}, None])
def test_malformed_upload_announcements_are_bad_requests(login_as, make, body):
    client = login_as(make.instructor())
    response = client.post("/uploads/", json=body)
    assert response.status_code == 400


def test_one_person_cannot_open_endless_uploads(app, login_as, make):
    app.config["UPLOAD_MAX_OPEN"] = 2
    client = login_as(make.instructor())
    data = file_bytes()
    assert start(client, data).status_code == 201
    assert start(client, data).status_code == 201
    response = start(client, data)
    assert response.status_code == 413 and "too many unfinished" in response.json["error"]


def upload_whole(client, data: bytes) -> str:
    upload_id = start(client, data).json["id"]
    for offset in range(0, len(data), CHUNK):
        assert put(client, upload_id, offset, data[offset:offset + CHUNK]).status_code == 200
    assert client.post(f"/uploads/{upload_id}/complete").status_code == 200
    return upload_id


def test_finished_but_unused_uploads_count_against_the_limit(app, login_as, make):
    app.config["UPLOAD_MAX_OPEN"] = 2
    client = login_as(make.learner())
    data = file_bytes()
    upload_whole(client, data)
    upload_whole(client, data)
    response = start(client, data)
    assert response.status_code == 413 and "too many unfinished" in response.json["error"]


def test_a_claimed_upload_cannot_be_cancelled_from_under_what_claimed_it(login_as, make, db):
    owner = make.instructor()
    client = login_as(owner)
    upload_id = upload_whole(client, file_bytes())
    claimed = operations.claim_upload(upload_id, owner, "test-video")
    db.session.commit()
    response = client.post(f"/uploads/{upload_id}/abort")
    assert response.status_code == 409 and "already in use" in response.json["error"]
    db.session.refresh(claimed)
    assert claimed.state == UploadState.CLAIMED and storage().path(claimed.key).is_file()


def test_a_cancelled_upload_loses_its_bytes(login_as, make, db):
    client = login_as(make.instructor())
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    key = db.session.get(Upload, upload_id).key
    assert client.post(f"/uploads/{upload_id}/abort").json == {"state": "aborted"}
    assert not storage().path(key).exists()
    assert client.get(f"/uploads/{upload_id}").status_code == 404


def test_expired_uploads_stop_counting_against_the_limit(app, login_as, make, db):
    app.config["UPLOAD_MAX_OPEN"] = 2
    owner = make.learner()
    client = login_as(owner)
    data = file_bytes()
    upload_whole(client, data)
    start(client, data)
    assert start(client, data).status_code == 413
    for upload in db.session.query(Upload).filter_by(owner_id=owner.id):
        upload.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert start(client, data).status_code == 201
    assert {u.state for u in db.session.query(Upload).filter_by(owner_id=owner.id)} == {
        UploadState.ABORTED, UploadState.RECEIVING}


def test_a_whole_file_waits_hours_not_days_for_the_form_that_uses_it(login_as, make, db):
    client = login_as(make.instructor())
    upload = db.session.get(Upload, upload_whole(client, file_bytes()))
    assert upload.expires_at - utcnow() <= operations.COMPLETE_UPLOAD_WAIT


def test_a_cancellation_rolled_back_keeps_the_bytes(login_as, make, db):
    owner = make.instructor()
    client = login_as(owner)
    data = file_bytes()
    upload_id = start(client, data).json["id"]
    put(client, upload_id, 0, data[:CHUNK])
    upload = db.session.get(Upload, upload_id)
    operations.abort_upload(upload)
    db.session.rollback()
    assert storage().path(upload.key).read_bytes() == data[:CHUNK]
    assert db.session.get(Upload, upload_id).state == UploadState.RECEIVING
