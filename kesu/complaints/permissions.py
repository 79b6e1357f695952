"""Who may do what to a complaint. Actions call these; views read them to show only what a
user may do. Visibility itself (R-AX-1) is in ``queries``."""

from __future__ import annotations

from kesu.org.models import CONTACT_ROLES, Role, User

from .models import Complaint


def can_register(user: User) -> bool:
    return user.is_active and (user.is_superuser or (not user.is_read_only and user.role != Role.ADMIN))


def can_handle(user: User, complaint: Complaint) -> bool:
    """The handler, or a manager above tier 1 who can see the complaint (they act for their team)."""
    if user.is_read_only:
        return False
    if complaint.owner_id == user.pk:
        return True
    return user.tier >= 2 and user.role not in {Role.ADMIN, Role.AUDITOR}


def can_answer(user: User, complaint: Complaint, open_transfer_units: set[int]) -> bool:
    """Members of a unit the complaint was transferred to answer on the same record (R-RT-4)."""
    if user.is_read_only:
        return False
    return bool(open_transfer_units & set(user.units.values_list("id", flat=True))) or can_handle(user, complaint)


def can_note(user: User) -> bool:
    return not user.is_read_only


def can_lower_level(user: User) -> bool:
    """R-CL-4: lowering a level needs a tier-2 user."""
    return not user.is_read_only and user.tier >= 2


def can_review(user: User, complaint: Complaint) -> bool:
    """R-RT-2: the level's reviewer tier (or higher) signs off before archiving."""
    return not user.is_read_only and user.tier >= complaint.reviewer_tier


def can_approve(user: User) -> bool:
    return not user.is_read_only and user.tier >= 2


def can_see_contact(user: User, complaint: Complaint) -> bool:
    """R-AX-2: roles whose work needs the full phone number and address, and the handler."""
    return user.role in CONTACT_ROLES or complaint.owner_id == user.pk


def can_investigate(user: User, complaint: Complaint) -> bool:
    """SPEC section 6: the handler (or a manager acting for the team) and quality assurance
    record the investigation and the CAPA."""
    return can_handle(user, complaint) or (not user.is_read_only and user.role == Role.QA)
