"""Time-limit configuration is reachable in the admin; records kept by the sweep are read-only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kesu.sla.models import Policy


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.cn", "pw-root-123")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["policy", "accountabilityrule", "accountabilityrecord", "breach", "deadline"])
def test_sla_admin_pages_open(admin_client_, model):
    assert admin_client_.get(f"/admin/sla/{model}/").status_code == 200


@pytest.mark.django_db
def test_r_sla_5_reply_limit_is_editable_in_the_admin(admin_client_):
    policy = Policy.objects.get(kind="reply")
    page = admin_client_.get(f"/admin/sla/policy/{policy.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update(length="5", category="" if not policy.category_id else policy.category_id)
    r = admin_client_.post(f"/admin/sla/policy/{policy.pk}/change/", data)
    assert r.status_code == 302, r.content[:2000]
    policy.refresh_from_db()
    assert policy.length == Decimal("5")
    assert admin_client_.get("/admin/sla/breach/add/").status_code == 403
