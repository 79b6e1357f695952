"""Shared fixtures: a small organisation and the personas of STYLE.md §7.

    company (总公司)
      └ service centre (客服中心) ── manager: mgr (tier 2); director: director (tier 3, at company)
           ├ Beijing store (北京门店) ── clerk, handler (tier 1)
           └ Shanghai store (上海门店) ── outsider (tier 1, cannot see Beijing's complaints)
      └ QA (品质部) ── qa (responsible-unit responder)
    gm (GM, org-wide), auditor (read-only, org-wide)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kesu.complaints import actions
from kesu.org.models import ApiToken, Role, Unit, UnitKind, User

PASSWORD = "kesu-test-pass-1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every transactional test restores the migrations' data (categories, policies, …) after
    it. A transactional test that doesn't would flush that data for the tests after it, and its
    flush recreates content types that the next serialized restore then collides with."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            item.add_marker(pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True}), append=False)


@pytest.fixture(scope="session")
def numbering_connections(django_db_setup):
    """Closes the numbering connections of every thread (a live server's too) before the test
    database is dropped."""
    yield
    from kesu.complaints import numbering

    numbering.close_all()


@pytest.fixture(autouse=True)
def fresh_serials(request):
    """PostgreSQL draws complaint numbers on a connection of their own that commits at once
    (kesu/complaints/numbering.py): start each database test from empty months. The connection
    stays open between tests (idle, it holds no lock) and is closed with the others at the end."""
    if not request.node.get_closest_marker("django_db") and not {"db", "transactional_db"} & set(request.fixturenames):
        yield
        return
    from django.db import connection

    from kesu.complaints import numbering

    request.getfixturevalue("numbering_connections")
    if connection.vendor == "postgresql":
        numbering.forget_serials()
    yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 at production strength costs about a second per user on this machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db) -> dict[str, Any]:
    company = Unit.objects.create(name="示例集团", code="company", kind=UnitKind.COMPANY)
    centre = Unit.objects.create(name="客服中心", code="service", kind=UnitKind.CENTRE, parent=company)
    beijing = Unit.objects.create(name="北京门店", code="bj", kind=UnitKind.BRANCH, parent=centre)
    shanghai = Unit.objects.create(name="上海门店", code="sh", kind=UnitKind.BRANCH, parent=centre)
    qa_unit = Unit.objects.create(name="品质部", code="qa", kind=UnitKind.DEPARTMENT, parent=company, is_quality=True)

    def user(username: str, role: str, tier: int, *units: Unit) -> User:
        u = User.objects.create_user(username=username, password=PASSWORD, role=role, tier=tier,
                                     display_name=username)
        u.units.set(units)
        return u

    return {
        "company": company, "centre": centre, "beijing": beijing, "shanghai": shanghai, "qa_unit": qa_unit,
        "clerk": user("clerk", Role.CLERK, 1, beijing),
        "handler": user("handler", Role.HANDLER, 1, beijing),
        "outsider": user("outsider", Role.HANDLER, 1, shanghai),
        "manager": user("manager", Role.MANAGER, 2, centre),
        "director": user("director", Role.DIRECTOR, 3, company),
        "gm": user("gm", Role.GM, 3, company),
        "qa": user("qa", Role.QA, 1, qa_unit),
        "auditor": user("auditor", Role.AUDITOR, 1, company),
    }


def intake(**overrides: Any) -> actions.Intake:
    data: dict[str, Any] = {
        "channel": "phone",
        "customer_name": "张伟",
        "contact_phone": "13812345678",
        "summary": "买的电饭煲用了三天就不加热了",
        "description": "上周在北京门店买的电饭煲，用了三天就不能加热，希望换一台新的。",
        "product": "电饭煲 RC-3000",
        "order_number": "DD20261101001",
    }
    data.update(overrides)
    return actions.Intake(**data)


def investigated(complaint: Any, *, by: User, responsible: bool = True) -> None:
    """The investigation's findings and a CAPA with a corrective and a preventive action: the
    third and fourth of the four no-lets-go (R-IV-6) for a valid complaint."""
    from datetime import timedelta

    from django.utils import timezone

    from kesu.quality import actions as quality

    quality.record_investigation(
        complaint, by=by, facts="经核实属实", responsibility="company" if responsible else "customer_misuse",
        responsible_unit=complaint.unit if responsible else None, responsible_person="李明" if responsible else "")
    today = timezone.localdate()
    quality.open_capa(complaint, by=by, title=complaint.summary[:50], causes=[("method", "作业指导书未更新")],
                      actions=[quality.PlannedAction("corrective", "更新作业指导书", by, today + timedelta(days=7)),
                               quality.PlannedAction("preventive", "每季度评审作业指导书", by,
                                                     today + timedelta(days=30))])


@pytest.fixture
def make_intake():
    return intake


@pytest.fixture
def register(org):
    """Register a complaint through the action as ``by`` (default: the clerk)."""

    def _register(by: User | None = None, **overrides: Any):
        return actions.register(intake(**overrides), by=by or org["clerk"]).complaint

    return _register


class ApiClient:
    """A test client speaking JSON to /api/v1 with a bearer token."""

    def __init__(self, user: User):
        self.user = user
        _token, self.token = ApiToken.objects.issue(user)
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers(headers))

    def post(self, path: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        return self.client.post(f"/api/v1{path}", data or {}, content_type="application/json",
                                headers=self._headers(headers))

    def put(self, path: str, data: dict[str, Any]):
        return self.client.put(f"/api/v1{path}", data, content_type="application/json", headers=self._headers(None))

    def upload(self, path: str, files: dict[str, Any]):
        return self.client.post(f"/api/v1{path}", files, headers=self._headers(None))

    def act(self, number: str, action: str, **data: Any):
        """POST a workflow action with the complaint's current version unless one is given."""
        if "version" not in data:
            data["version"] = self.get(f"/complaints/{number}").json()["version"]
        return self.post(f"/complaints/{number}/{action}", data)


@pytest.fixture
def api(org):
    """api("handler") → an ApiClient logged in as that persona."""
    clients: dict[str, ApiClient] = {}

    def _api(name: str) -> ApiClient:
        if name not in clients:
            clients[name] = ApiClient(org[name])
        return clients[name]

    return _api
