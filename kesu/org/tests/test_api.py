"""The API's front door: tokens, sessions, OpenAPI, error shape and language."""

from __future__ import annotations

from django.test import Client

from conftest import PASSWORD
from kesu.complaints.models import Complaint


def test_token_login_and_bearer_use(org):
    c = Client()
    r = c.post("/api/v1/auth/token", {"username": "clerk", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 200
    token = r.json()["token"]
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "clerk" and me.json()["units"] == ["bj"]


def test_wrong_password_and_missing_token_are_401_json(org):
    c = Client()
    r = c.post("/api/v1/auth/token", {"username": "clerk", "password": "nope"}, content_type="application/json")
    assert r.status_code == 401 and r.json()["code"] == "bad_credentials" and r.json()["field"] == "password"
    r = c.get("/api/v1/complaints")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = c.get("/api/v1/complaints", headers={"Authorization": "Bearer ksu_forged"})
    assert r.status_code == 401


def test_a_revoked_token_or_a_deactivated_user_is_refused_at_once(org):
    from django.utils import timezone

    from kesu.org.models import ApiToken

    c = Client()
    token = c.post("/api/v1/auth/token", {"username": "clerk", "password": PASSWORD},
                   content_type="application/json").json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/me", headers=bearer).status_code == 200
    org["clerk"].is_active = False
    org["clerk"].save(update_fields=["is_active"])
    assert c.get("/api/v1/me", headers=bearer).status_code == 401
    org["clerk"].is_active = True
    org["clerk"].save(update_fields=["is_active"])
    assert c.get("/api/v1/me", headers=bearer).status_code == 200
    ApiToken.objects.filter(user=org["clerk"]).update(revoked_at=timezone.now())
    r = c.get("/api/v1/me", headers=bearer)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_session_auth_needs_csrf_for_writes(org):
    c = Client(enforce_csrf_checks=True)
    c.force_login(org["clerk"])
    assert c.get("/api/v1/complaints").status_code == 200
    r = c.post("/api/v1/complaints", {"channel": "phone", "customer_name": "张三", "contact_phone": "13800001111",
                                      "summary": "测试"}, content_type="application/json")
    assert r.status_code in (401, 403)
    assert Complaint.objects.count() == 0


def test_openapi_lists_every_workflow_endpoint(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for action in ("accept", "investigate", "judge", "propose", "request-approval", "approve", "reject", "resolve",
                   "reply", "follow-up", "review", "close", "reopen", "hold", "resume", "mark-invalid", "escalate",
                   "lower-level", "classify", "transfer", "answer", "note", "message", "edit", "merge"):
        assert f"/api/v1/complaints/{{number}}/{action}" in paths, action
    assert client.get("/api/v1/docs").status_code == 200


def test_errors_are_json_with_code_message_field_in_chinese_by_default(api):
    r = api("clerk").post("/complaints", {"channel": "phone", "customer_name": "张三", "contact_phone": "12345",
                                          "summary": "测试"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid" and body["field"] == "contact_phone"
    assert "电话" in body["message"]


def test_errors_in_english_on_request(api):
    r = api("clerk").get("/complaints/TS20990100001", **{"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.json()["message"] == "Complaint TS20990100001 was not found."


def test_schema_errors_name_the_field(api):
    r = api("clerk").post("/complaints", {"channel": "pigeon", "customer_name": "张三", "summary": "x"})
    assert r.status_code == 422
    assert r.json()["field"] == "channel"
    r = api("clerk").post("/complaints", {"channel": "phone", "customer_name": "张三", "contact_phone": "13800001111",
                                          "summary": "x" * 201})
    assert r.status_code == 422 and r.json()["field"] == "summary"
    assert Complaint.objects.count() == 0


def test_times_are_given_in_shanghai_time(api, register):
    complaint = register()
    body = api("clerk").get(f"/complaints/{complaint.number}").json()
    assert body["received_at"].endswith("+08:00")
    events = api("clerk").get(f"/complaints/{complaint.number}/timeline").json()
    assert events[0]["at"].endswith("+08:00")
