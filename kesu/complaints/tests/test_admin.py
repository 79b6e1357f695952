"""The Django admin: configuration (categories, keyword rules) is editable; complaint records are
read-only, because the actions are the only writers of complaint state (R-WF-2)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kesu.complaints.models import Category, Complaint, TimelineEvent, Transfer
from kesu.org.models import User

CHANGELISTS = [
    "complaints_category", "complaints_keywordrule", "complaints_complaint",
    "complaints_timelineevent", "complaints_transfer", "complaints_attachment",
    "complaints_customer", "sla_deadline",
]
READ_ONLY = [
    "complaints_complaint", "complaints_timelineevent", "complaints_transfer",
    "complaints_attachment", "complaints_customer", "sla_deadline",
]


@pytest.fixture
def fast_hashing(settings) -> None:
    """Requested before ``org``: its users are created with a password, and the production
    hasher costs about a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client_with_data(fast_hashing, org, register) -> tuple[Client, Complaint]:
    from kesu.complaints import actions

    complaint = register()
    actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="请品质部检测")
    admin = User.objects.create_superuser("root", password="x-root-pass", role="admin")
    client = Client()
    client.force_login(admin)
    return client, complaint


@pytest.mark.parametrize("name", CHANGELISTS)
def test_superuser_opens_every_changelist(admin_client_with_data, name):
    client, complaint = admin_client_with_data
    r = client.get(reverse(f"admin:{name}_changelist"))
    assert r.status_code == 200


def test_complaint_search_by_number_phone_and_summary(admin_client_with_data):
    client, complaint = admin_client_with_data
    url = reverse("admin:complaints_complaint_changelist")
    for q in (complaint.number, "13812345678", "电饭煲"):
        r = client.get(url, {"q": q})
        assert r.status_code == 200 and complaint.number in r.content.decode(), q
    # R-AX-2: the admin shows the masked phone, not the full number.
    assert "138****5678" in r.content.decode() and "13812345678" not in r.content.decode()


def test_r_wf_2_complaint_records_are_read_only_in_the_admin(admin_client_with_data):
    client, complaint = admin_client_with_data
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    r = client.get(url)
    assert r.status_code == 200
    body = r.content.decode()
    assert complaint.number in body
    assert 'name="_save"' not in body and 'name="_continue"' not in body
    before = (complaint.version, complaint.status, complaint.summary)
    r = client.post(url, {"summary": "改掉", "status": "closed"})
    assert r.status_code == 403
    complaint.refresh_from_db()
    assert (complaint.version, complaint.status, complaint.summary) == before
    for name in READ_ONLY:
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403, name
    event = TimelineEvent.objects.filter(complaint=complaint).first()
    delete_url = reverse("admin:complaints_timelineevent_delete", args=[event.pk])
    r = client.post(delete_url, {"post": "yes"})
    assert r.status_code == 403
    assert TimelineEvent.objects.filter(pk=event.pk).exists()
    transfer = Transfer.objects.get(complaint=complaint)
    transfer_url = reverse("admin:complaints_transfer_change", args=[transfer.pk])
    assert client.get(transfer_url).status_code == 200


def test_r_cl_1_categories_are_edited_in_the_admin(admin_client_with_data):
    client, _complaint = admin_client_with_data
    assert client.get(reverse("admin:complaints_category_add")).status_code == 200
    parent = Category.objects.get(code="quality")
    r = client.post(reverse("admin:complaints_category_add"), {
        "code": "quality_smell", "name": "异味", "name_en": "Odour", "parent": parent.pk,
        "default_level": 1, "active": "on", "sort": 25,
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Category.objects.get(code="quality_smell").parent == parent
    assert client.get(reverse("admin:complaints_keywordrule_add")).status_code == 200
