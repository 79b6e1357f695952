"""A NUL character (U+0000) anywhere a request carries text is a clear 4xx naming the field,
never a 500: PostgreSQL's text columns cannot hold one (kesu/lib/nul.py). Both databases
answer the same."""

from __future__ import annotations

from django.test import Client

from kesu.complaints.models import Complaint


def test_a_nul_in_a_json_body_names_the_field_and_writes_nothing(api, org):
    r = api("clerk").post("/complaints", {"channel": "phone", "customer_name": "张\x00三",
                                          "contact_phone": "13800001111", "summary": "电饭煲不加热"})
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "invalid" and body["field"] == "customer_name" and "U+0000" in body["message"]
    assert "无法保存" in body["message"]  # Chinese by default
    assert not Complaint.objects.exists()
    r = api("clerk").post("/complaints", {"channel": "phone", "customer_name": "张三", "contact_phone": "13800001111",
                                          "summary": "电饭煲不加热", "details": {"items": ["a", "b\x00"]}})
    assert r.status_code == 422 and r.json()["field"] == "details.items.1"


def test_a_nul_in_the_query_or_the_path_names_it(api, org, register):
    c = register()
    r = api("clerk").get("/complaints", {"q": "漏水\x00"})
    assert r.status_code == 422 and r.json()["field"] == "q"
    r = api("clerk").get(f"/complaints/{c.number}%00")
    assert r.status_code == 422 and r.json()["field"] == "path"
    # A literal backslash-u text is text, not a NUL.
    r = api("clerk").post(f"/complaints/{c.number}/note", {"text": "客户说：\\u0000 是什么"})
    assert r.status_code == 200, r.content


def test_a_nul_on_a_page_is_a_400(org):
    client = Client()
    client.force_login(org["handler"])
    r = client.get("/queue/mine/", {"q": "漏水\x00"})
    assert r.status_code == 400 and "U+0000" in r.content.decode()
    assert client.get("/c/TS2026%00/").status_code == 400
