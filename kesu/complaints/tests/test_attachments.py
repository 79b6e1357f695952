"""Attachments (R-IN-3): photos, documents and call recordings on a complaint."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kesu.complaints.models import Attachment, Event


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A real 1×1 red PNG, a minimal JFIF JPEG, a one-page-less PDF and an ID3-tagged MP3.
PNG = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
       + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + _chunk(b"IEND", b""))
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65)) + b"\xff\xd9")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + b"\xff\xfb\x90\x64" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def number(register):
    return register().number


def upload(api, number: str, name: str, data: bytes, who: str = "clerk", content_type: str = "image/jpeg"):
    return api(who).upload(f"/complaints/{number}/attachments",
                           {"file": SimpleUploadedFile(name, data, content_type=content_type)})


def download(api, url: str, who: str = "clerk"):
    return api(who).get(url.removeprefix("/api/v1"))


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "name, data, kind, mime",
    [
        ("漏水照片.png", PNG, "photo", "image/png"),
        ("IMG_0001.JPG", JPEG, "photo", "image/jpeg"),
        ("检测报告.pdf", PDF, "document", "application/pdf"),
        ("通话录音.mp3", MP3, "recording", "audio/mpeg"),
    ],
)
def test_r_in_3_an_attachment_is_listed_and_downloadable(api, number, media, name, data, kind, mime):
    r = upload(api, number, name, data)

    assert r.status_code == 201, r.content
    out = r.json()
    assert out["name"] == name and out["kind"] == kind and out["content_type"] == mime
    assert out["size"] == len(data)
    listed = api("clerk").get(f"/complaints/{number}").json()["attachments"]
    assert [a["id"] for a in listed] == [out["id"]]
    row = Attachment.objects.get()
    assert row.complaint.number == number and row.uploaded_by.username == "clerk"
    assert len(stored_files(media)) == 1

    got = download(api, listed[0]["url"], who="manager")

    assert got.status_code == 200
    assert got["Content-Type"] == mime
    assert body_of(got) == data


def test_r_in_3_photos_open_inline_and_documents_download(api, number):
    photo = upload(api, number, "a.png", PNG).json()
    doc = upload(api, number, "b.pdf", PDF).json()

    assert download(api, photo["url"])["Content-Disposition"].startswith("inline")
    assert download(api, doc["url"])["Content-Disposition"].startswith("attachment")


def test_r_in_3_attaching_is_recorded_on_the_timeline(api, number):
    out = upload(api, number, "漏水照片.png", PNG).json()

    timeline = api("clerk").get(f"/complaints/{number}/timeline").json()
    [ev] = [e for e in timeline if e["kind"] == Event.ATTACHMENT_ADDED]
    assert ev["actor"]["username"] == "clerk"
    assert ev["data"]["attachment"] == out["id"]
    assert ev["data"]["name"] == "漏水照片.png"
    assert ev["data"]["attachment_kind"] == "photo"


def test_r_in_3_an_outsider_can_neither_download_nor_upload(api, number, media):
    out = upload(api, number, "a.png", PNG).json()

    got = download(api, out["url"], who="outsider")
    put = upload(api, number, "b.png", PNG, who="outsider")

    assert got.status_code == 404
    assert put.status_code == 404
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_r_in_3_a_read_only_auditor_cannot_upload(api, number, media):
    r = upload(api, number, "a.png", PNG, who="auditor")

    assert r.status_code == 403, r.content
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_r_in_3_an_attachment_of_another_complaint_is_not_found(api, register):
    first, second = register().number, register(contact_phone="13900000000", summary="别的事").number
    out = upload(api, first, "a.png", PNG).json()

    r = api("clerk").get(f"/complaints/{second}/attachments/{out['id']}")

    assert r.status_code == 404
    assert r.json()["field"] == "attachment_id"


def test_r_in_3_a_path_in_the_file_name_stays_inside_the_media_folder(api, number, media):
    r = upload(api, number, "../../../etc/漏水.png", PNG)

    assert r.status_code == 201, r.content
    assert r.json()["name"] == "漏水.png"
    [path] = stored_files(media)
    assert path.resolve().is_relative_to(media.resolve())


def test_r_in_3_a_file_at_the_limit_is_accepted(api, number, settings):
    settings.KESU_MAX_ATTACHMENT_BYTES = len(PNG)

    assert upload(api, number, "a.png", PNG).status_code == 201


@pytest.mark.parametrize(
    "name, data",
    [
        ("huge.png", PNG + b"\x00" * 2048),  # over the limit set below
        ("照片.jpg", EXE),  # an .exe renamed .jpg
        ("invoice.pdf", PNG),  # content does not match the name
        ("setup.exe", EXE),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 30),
        ("no_extension", PNG),
        ("empty.png", b""),
    ],
)
def test_r_in_3_a_refused_file_leaves_nothing_behind(api, number, media, settings, name, data):
    settings.KESU_MAX_ATTACHMENT_BYTES = 1024

    r = upload(api, number, name, data)

    assert r.status_code == 422, r.content
    assert r.json()["field"] == "file"
    assert r.json()["message"]
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []
    timeline = api("clerk").get(f"/complaints/{number}/timeline").json()
    assert Event.ATTACHMENT_ADDED not in [e["kind"] for e in timeline]


def test_r_in_3_a_request_without_a_file_is_refused(api, number):
    r = api("clerk").upload(f"/complaints/{number}/attachments", {})

    assert r.status_code == 422
    assert r.json()["field"] == "file"
    assert Attachment.objects.count() == 0
