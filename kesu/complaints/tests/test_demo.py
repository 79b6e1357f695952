"""``kesu demo`` (run by ``make run``): a realistic, repeatable demo loaded through the actions."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from kesu.complaints.management.commands.demo import PASSWORD, TOTAL, USERS
from kesu.complaints.models import Complaint, Customer, Status, TimelineEvent, Transfer
from kesu.org.models import Role, Unit, User
from kesu.sla.models import Deadline


def _snapshot() -> dict[str, object]:
    return {
        "units": Unit.objects.count(),
        "users": sorted(User.objects.values_list("username", "password")),
        "customers": Customer.objects.count(),
        "complaints": sorted(Complaint.objects.values_list("number", "version", "status")),
        "events": TimelineEvent.objects.count(),
        "transfers": Transfer.objects.count(),
        "deadlines": Deadline.objects.count(),
    }


@pytest.mark.django_db
def test_demo_loads_a_realistic_history_once_and_every_user_can_log_in(settings):
    # Hashing the demo password with the production hasher costs about a second per call.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("demo", stdout=out)

    complaints = Complaint.objects.all()
    assert complaints.count() == TOTAL

    # A spread of states: old complaints mostly closed, recent ones open at every stage.
    states = set(complaints.values_list("status", flat=True))
    assert {Status.CLOSED, Status.INVESTIGATING, Status.REGISTERED, Status.ON_HOLD, Status.INVALID,
            Status.MERGED} <= states
    assert states & {Status.REPLIED, Status.FOLLOW_UP}
    assert len(states) >= len(Status) - 2, states
    now = timezone.now()
    old = complaints.filter(received_at__lt=now - timezone.timedelta(days=30))
    assert old.filter(status=Status.CLOSED).count() > 0.75 * old.count()
    assert complaints.filter(received_at__gt=now - timezone.timedelta(days=3)).exclude(
        status__in=[Status.CLOSED, Status.MERGED]).exists()

    # R-IN-7 / R-CL-4: repeat complaints are linked to the same customer's earlier one, level ≥ 2.
    repeats = complaints.exclude(repeat_of=None).select_related("repeat_of")
    assert repeats.count() >= 5
    for c in repeats:
        assert c.customer_id == c.repeat_of.customer_id and c.level >= 2
    # R-RT-3: level-3 complaints exist and are all copied to the GM.
    assert complaints.filter(level=3).count() >= 5
    assert not complaints.filter(level=3, gm_copy=False).exists()
    # R-WF-6: duplicates point to their survivor.
    assert all(c.merged_into_id for c in complaints.filter(status=Status.MERGED))
    # R-RT-2: every closed complaint was signed off by its level's reviewer tier.
    for c in complaints.filter(status=Status.CLOSED).select_related("reviewed_by"):
        assert c.reviewed_by is not None and c.reviewed_by.tier >= c.reviewer_tier, c.number
    # The history happened in order and is all in the past.
    last = None
    events = TimelineEvent.objects.order_by("complaint_id", "id").values_list("complaint_id", "at")
    for complaint_id, at in events:
        assert at <= now
        if last and last[0] == complaint_id:
            assert at >= last[1], complaint_id
        last = (complaint_id, at)
    assert Transfer.objects.exclude(answered_at=None).exists()
    assert complaints.filter(channel="12315").exclude(platform_result_at=None).exists()  # R-SLA-11
    assert complaints.filter(anonymous=True).exists()

    # The second run changes nothing and says so; both runs list the logins.
    before = _snapshot()
    again = StringIO()
    call_command("demo", stdout=again)
    assert "already loaded" in again.getvalue()
    assert _snapshot() == before
    for person in USERS:
        assert person.username in out.getvalue() and person.username in again.getvalue()

    # One user per R-AX-1 role, all able to log in with the shared demo password.
    assert {p.role for p in USERS} == set(Role.values)
    for person in USERS:
        user = authenticate(username=person.username, password=PASSWORD)
        assert user is not None, person.username
        assert user.units.exists()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
