def test_register_and_walk_the_happy_path(api):
    clerk = api("clerk")
    r = clerk.post("/complaints", {"channel": "phone", "customer_name": "张伟", "contact_phone": "138 1234 5678",
                                   "summary": "电饭煲不加热", "description": "用了三天就坏了"})
    assert r.status_code == 201, r.content
    body = r.json()["complaint"]
    number = body["number"]
    assert number.startswith("TS")
    assert body["contact_phone"] == "138****5678"
    for action, data in [("accept", {}), ("investigate", {}), ("propose", {"resolution": "换新"}),
                         ("resolve", {}), ("reply", {"message": "已为您换新"}), ("follow-up", {})]:
        r = clerk.act(number, action, **data)
        assert r.status_code == 200, (action, r.content)
    r = api("manager").act(number, "review")
    assert r.status_code == 200, r.content
    r = clerk.act(number, "close", reason="客户满意")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "closed"
    tl = clerk.get(f"/complaints/{number}/timeline").json()
    assert [e["kind"] for e in tl][:2] == ["registered", "routed"]
