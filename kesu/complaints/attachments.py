"""Attachments (R-IN-3): photos, documents and call recordings, checked by size and by content.

A file's type is decided by its first bytes, not its name: an ``.exe`` renamed ``.jpg`` is
refused. The write is an action like any other: the row, the file and the timeline event go
together, and a refused file leaves nothing behind.
"""

from __future__ import annotations

import os
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.lib.errors import Invalid
from kesu.org.models import User

from . import permissions, timeline
from .actions import _check, _require
from .models import Attachment, AttachmentKind, Complaint, Event


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut by the sniff window
    return True


# extension → (kind, MIME type, content check on the first bytes)
ALLOWED = {
    "jpg": (AttachmentKind.PHOTO, "image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    "jpeg": (AttachmentKind.PHOTO, "image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    "png": (AttachmentKind.PHOTO, "image/png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    "gif": (AttachmentKind.PHOTO, "image/gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    "webp": (AttachmentKind.PHOTO, "image/webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    "pdf": (AttachmentKind.DOCUMENT, "application/pdf", lambda h: h.startswith(b"%PDF-")),
    "doc": (AttachmentKind.DOCUMENT, "application/msword", lambda h: h.startswith(b"\xd0\xcf\x11\xe0")),
    "xls": (AttachmentKind.DOCUMENT, "application/vnd.ms-excel", lambda h: h.startswith(b"\xd0\xcf\x11\xe0")),
    "docx": (AttachmentKind.DOCUMENT,
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             lambda h: h.startswith(b"PK\x03\x04")),
    "xlsx": (AttachmentKind.DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda h: h.startswith(b"PK\x03\x04")),
    "txt": (AttachmentKind.DOCUMENT, "text/plain", _is_text),
    "mp3": (AttachmentKind.RECORDING, "audio/mpeg",
            lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0)),
    "wav": (AttachmentKind.RECORDING, "audio/wav", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
    "m4a": (AttachmentKind.RECORDING, "audio/mp4", lambda h: h[4:8] == b"ftyp"),
    "amr": (AttachmentKind.RECORDING, "audio/amr", lambda h: h.startswith(b"#!AMR")),
}


def check_upload(
    upload: UploadedFile, *, limit: int | None = None, kinds: frozenset[str] | None = None,
    field: str = "file",
) -> tuple[str, str, str, str]:
    """Refuse a file by name, size or content before anything is written; return its (name,
    extension, kind, MIME type). ``kinds`` narrows the accepted kinds (the portal: photos)."""
    allowed = {e: v for e, v in ALLOWED.items() if kinds is None or v[0] in kinds}
    name = os.path.basename(upload.name or "").strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in allowed:
        raise Invalid(
            _("Files of type “.%(ext)s” are not accepted. Allowed: %(allowed)s.")
            % {"ext": ext, "allowed": ", ".join(sorted(allowed))},
            field=field,
        )
    limit = settings.KESU_MAX_ATTACHMENT_BYTES if limit is None else limit
    if upload.size is None or upload.size > limit:
        raise Invalid(
            _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)},
            field=field,
        )
    if upload.size == 0:
        raise Invalid(_("The file is empty."), field=field)
    kind, mime, looks_right = allowed[ext]
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    if not looks_right(head):
        raise Invalid(
            _("The file's content does not match its “.%(ext)s” name.") % {"ext": ext}, field=field
        )
    return name, ext, kind, mime


def attach(complaint: Complaint, *, by: User, upload: UploadedFile, now: datetime | None = None) -> Attachment:
    now = now or timezone.now()
    _check(complaint, "attach")
    _require(permissions.can_note(by))
    name, ext, kind, mime = check_upload(upload)
    with transaction.atomic():
        row = Attachment(complaint=complaint, original_name=name[:255], content_type=mime, kind=kind,
                         size=upload.size, uploaded_by=by, uploaded_at=now)
        row.file.save(f"{now:%Y%m%d%H%M%S}-{os.urandom(4).hex()}.{ext}", upload, save=False)
        try:
            row.save()
            timeline.record(complaint, Event.ATTACHMENT_ADDED, by=by, at=now, attachment=row.pk,
                            name=row.original_name, size=row.size, attachment_kind=kind)
        except Exception:
            row.file.delete(save=False)
            raise
    return row

