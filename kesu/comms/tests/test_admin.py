"""Admin pages: robots are edited, notifications are read-only with masked recipients."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from kesu.comms import outbox
from kesu.comms.models import Kind, Notification, State, WebhookEndpoint
from kesu.org.models import User


def admin_client() -> Client:
    User.objects.create_superuser("root", "root@example.com", "kesu-admin-pass-1")
    client = Client()
    client.login(username="root", password="kesu-admin-pass-1")
    return client


def test_r_cm_5_admin_lists_notifications_masked_and_resends_dead_ones(complaint):
    client = admin_client()
    rows = outbox.to_customer(complaint, Kind.PROGRESS, {}, now=timezone.now(), dedupe_key="a1")
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(status=State.DEAD)
    page = client.get("/admin/comms/notification/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "138****5678" in text and "13812345678" not in text
    response = client.post("/admin/comms/notification/",
                           {"action": "send_again", "_selected_action": [r.pk for r in rows]})
    assert response.status_code == 302
    assert set(Notification.objects.filter(pk__in=[r.pk for r in rows])
               .values_list("status", flat=True)) <= {State.PENDING, State.SENT}


def test_r_cm_5_admin_edits_webhook_robots(db):
    client = admin_client()
    assert client.get("/admin/comms/webhookendpoint/add/").status_code == 200
    response = client.post("/admin/comms/webhookendpoint/add/", {
        "name": "客服群", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
        "secret": "SECxyz", "kinds": ["warning", "breach"], "active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    robot = WebhookEndpoint.objects.get()
    assert robot.kinds == ["warning", "breach"] and robot.receives("breach")
    listing = client.get("/admin/comms/webhookendpoint/").content.decode()
    assert "access_token" not in listing
