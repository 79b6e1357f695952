"""The organisation the generated complaints belong to: an existing one if the database has
one (stores, clerks, handlers), else a small bench organisation created here.

Routing (who handles and who reviews a complaint of each level) is looked up once per
(unit, tier) with the real ``kesu.complaints.routing.nearest_user``: users do not change while
the generator runs, so every complaint of a unit and level is routed as the action would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from kesu.complaints import permissions, routing
from kesu.org.models import Role, Unit, UnitKind, User

COMPANY = "bench"
CENTRE = "bench-service"
# (code suffix, store name)
STORES = [
    ("bj", "北京朝阳门店"), ("sh", "上海徐汇门店"), ("gz", "广州天河门店"), ("tj", "天津和平门店"),
    ("cq", "重庆渝中门店"), ("nj", "南京鼓楼门店"), ("wh", "武汉江汉门店"), ("cd", "成都锦江门店"),
    ("xa", "西安雁塔门店"), ("sz", "深圳南山门店"), ("hz", "杭州西湖门店"), ("su", "苏州姑苏门店"),
]


@dataclass
class Org:
    stores: list[Unit]
    clerks: list[User]  # register remote complaints (phone, web, letters …)
    handlers: dict[int, list[User]]  # store id -> its front-line staff (visits)
    created: bool = False
    frozen: bool = False  # set before forking: a worker must not query the parent's connection
    _routes: dict[tuple[int, int], User | None] = field(default_factory=dict)

    def nearest(self, unit: Unit, tier: int) -> User | None:
        key = (unit.pk, tier)
        if key not in self._routes:
            if self.frozen:
                raise RuntimeError(f"route of unit {unit.pk} for tier {tier} was not looked up in advance")
            self._routes[key] = routing.nearest_user(unit, tier)
        return self._routes[key]

    def recorders_for(self, unit: Unit, in_person: bool) -> list[User]:
        local = self.handlers.get(unit.pk, [])
        if in_person and local:
            return local
        return self.clerks or local


def load_or_create() -> Org:
    """Reuse the database's stores and staff; create the bench organisation if there are none."""
    org = _existing()
    if org is not None:
        return org
    with transaction.atomic():
        _create()
    org = _existing(codes_from=COMPANY)
    assert org is not None
    org.created = True
    return org


def _existing(codes_from: str | None = None) -> Org | None:
    units = Unit.objects.filter(active=True)
    if codes_from:
        units = units.filter(code__startswith=codes_from)
    stores = list(units.filter(kind=UnitKind.BRANCH).order_by("path"))
    if not stores:
        parents = set(Unit.objects.exclude(parent=None).values_list("parent_id", flat=True))
        stores = [u for u in units.order_by("path") if u.pk not in parents and u.parent_id]
    if not stores:
        return None
    staff = [u for u in User.objects.staff().filter(tier=1).prefetch_related("units").order_by("id")
             if permissions.can_register(u)]
    clerks = [u for u in staff if u.role == Role.CLERK]
    handlers: dict[int, list[User]] = {}
    for user in staff:
        if user.role in (Role.HANDLER, Role.CLERK):
            for unit in user.units.all():
                handlers.setdefault(unit.pk, []).append(user)
    if not clerks and not any(handlers.get(s.pk) for s in stores):
        return None
    # Stores nobody can register for are left out.
    stores = [s for s in stores if clerks or handlers.get(s.pk)]
    return Org(stores=stores, clerks=clerks, handlers=handlers)


def _create() -> None:
    def unit(code: str, name: str, kind: str, parent: Unit | None = None, quality: bool = False) -> Unit:
        return Unit.objects.create(code=code, name=name, kind=kind, parent=parent, is_quality=quality)

    def user(username: str, name: str, role: str, tier: int, *units: Unit) -> User:
        u = User(username=username, display_name=name, role=role, tier=tier,
                 email=f"{username}@bench.example", last_name=name[0], first_name=name[1:])
        u.set_unusable_password()  # bench staff never log in; hashing would cost a second each
        u.save()
        u.units.set(units)
        return u

    company = unit(COMPANY, "客诉基准测试集团", UnitKind.COMPANY)
    centre = unit(CENTRE, "客户服务中心", UnitKind.CENTRE, company)
    unit(f"{COMPANY}-qa", "品质部", UnitKind.DEPARTMENT, company, quality=True)
    unit(f"{COMPANY}-logistics", "物流部", UnitKind.DEPARTMENT, company)
    user("bench-director", "王志强", Role.DIRECTOR, 3, company)
    user("bench-gm", "刘德明", Role.GM, 3, company)
    user("bench-manager", "陈建国", Role.MANAGER, 2, centre)
    user("bench-manager2", "李秀英", Role.MANAGER, 2, centre)
    for i, name in enumerate(("赵静", "钱丽", "孙伟", "周敏")):
        user(f"bench-clerk{i + 1}", name, Role.CLERK, 1, centre)
    given = ("磊", "晓燕", "海涛", "婷", "强", "娜", "涛", "芳", "军", "静", "勇", "霞")
    surnames = "孙林吴郑冯陈褚卫蒋沈韩杨"
    for i, (code, name) in enumerate(STORES):
        store = unit(f"{COMPANY}-{code}", name, UnitKind.BRANCH, centre)
        for j in range(2):
            k = (2 * i + j) % len(given)
            user(f"bench-{code}-{j + 1}", surnames[(i + j) % len(surnames)] + given[k],
                 Role.HANDLER, 1, store)
