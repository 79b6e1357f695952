"""Organisation API: tokens for API clients, the current user, units and users."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from kesu.lib.errors import DomainError

from .models import ApiToken, Role, Unit, User

router = Router(tags=["organisation"])


class Unauthorized(DomainError):
    status = 401
    code = "bad_credentials"


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=256)


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"
    username: str


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None
    is_quality: bool


class UserOut(Schema):
    username: str
    name: str
    role: str
    role_label: str
    tier: int
    units: list[str]


def user_row(u: User) -> dict:
    return {"username": u.username, "name": u.name, "role": u.role, "role_label": str(Role(u.role).label),
            "tier": u.tier, "units": [unit.code for unit in u.units.all()]}


@router.post("/auth/token", auth=None, response=TokenOut, summary="Get an API token")
def issue_token(request: HttpRequest, payload: TokenIn):
    """Send username and password; use the token as ``Authorization: Bearer <token>``."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise Unauthorized(_("Wrong username or password."), field="password")
    _token, raw = ApiToken.objects.issue(user, name="api")
    return {"token": raw, "username": user.username}


@router.get("/me", response=UserOut, summary="The current user")
def me(request: HttpRequest):
    return user_row(request.auth)  # type: ignore[attr-defined]


@router.get("/units", response=list[UnitOut], summary="Units")
def units(request: HttpRequest):
    return [
        {"code": u.code, "name": u.name, "kind": u.kind, "parent": u.parent.code if u.parent_id else None,
         "is_quality": u.is_quality}
        for u in Unit.objects.filter(active=True).select_related("parent")
    ]


@router.get("/users", response=list[UserOut], summary="Users")
def users(request: HttpRequest, unit: str | None = None, tier: int | None = None, role: str | None = None):
    qs = User.objects.staff().prefetch_related("units").order_by("username")
    if unit:
        qs = qs.filter(units__code=unit)
    if tier:
        qs = qs.filter(tier=tier)
    if role:
        qs = qs.filter(role=role)
    return [user_row(u) for u in qs]
