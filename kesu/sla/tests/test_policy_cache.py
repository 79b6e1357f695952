"""The active policies are kept per process between changes (kesu/sla/deadlines.py): an edit,
however it is written, applies to the next registration (R-SLA-5: limits are admin-edited data)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import intake
from kesu.complaints import actions
from kesu.sla.models import Deadline, DeadlineKind, Policy
from kesu.sla.models.policies import Unit as LengthUnit

K = DeadlineKind
START = datetime(2026, 10, 12, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday, working


def reply_due(org, phone: str) -> datetime:
    complaint = actions.register(intake(contact_phone=phone, order_number=phone), by=org["clerk"],
                                 now=START).complaint
    return Deadline.objects.get(complaint=complaint, kind=K.REPLY).due_at


def test_r_sla_5_a_policy_edited_between_two_registrations_applies_to_the_second(org):
    Policy.objects.filter(kind=K.REPLY).update(length=Decimal(3), unit=LengthUnit.DAYS)
    assert reply_due(org, "13700000001") == START + timedelta(days=3)  # the policies are now kept
    policy = Policy.objects.get(kind=K.REPLY)
    policy.length = Decimal(4)
    policy.save()  # as the admin saves it
    assert reply_due(org, "13700000002") == START + timedelta(days=4)
    Policy.objects.filter(pk=policy.pk).update(length=Decimal(2))  # a bulk edit
    assert reply_due(org, "13700000003") == START + timedelta(days=2)


def test_r_sla_5_a_policy_added_or_switched_off_between_registrations_applies(org):
    Policy.objects.filter(kind=K.REPLY).update(length=Decimal(3), unit=LengthUnit.DAYS)
    assert reply_due(org, "13700000011") == START + timedelta(days=3)
    phone_only = Policy.objects.create(kind=K.REPLY, name="电话投诉答复", length=Decimal(1),
                                       unit=LengthUnit.DAYS, channel="phone")
    assert reply_due(org, "13700000012") == START + timedelta(days=1)  # the more specific one
    phone_only.delete()
    assert reply_due(org, "13700000013") == START + timedelta(days=3)
    Policy.objects.filter(kind=K.REPLY).update(active=False)
    complaint = actions.register(intake(contact_phone="13700000014", order_number="X14"),
                                 by=org["clerk"], now=START).complaint
    assert not Deadline.objects.filter(complaint=complaint, kind=K.REPLY).exists()


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.cn", "pw-root-123")
    client.force_login(user)
    return client


def test_r_sla_5_an_admin_edit_applies_to_the_next_registration(org, admin_client_):
    Policy.objects.filter(kind=K.REPLY).update(length=Decimal(3), unit=LengthUnit.DAYS)
    assert reply_due(org, "13700000021") == START + timedelta(days=3)
    policy = Policy.objects.get(kind=K.REPLY)
    form = admin_client_.get(f"/admin/sla/policy/{policy.pk}/change/").context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update(length="6", category=policy.category_id or "")
    assert admin_client_.post(f"/admin/sla/policy/{policy.pk}/change/", data).status_code == 302
    assert reply_due(org, "13700000022") == START + timedelta(days=6)
