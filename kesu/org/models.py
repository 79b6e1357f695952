"""Organisation: units as a tree, users with a tier and a role, API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kesu.lib.revisions import Revisioned, signature_column
from kesu.lib.statements import Slot, Statement


class UnitKind(models.TextChoices):
    COMPANY = "company", _("Company")
    CENTRE = "centre", _("Centre")
    DEPARTMENT = "department", _("Department")
    BRANCH = "branch", _("Branch or store")
    TEAM = "team", _("Team")


class Unit(models.Model):
    """A unit of the organisation (company → centre → department → branch/store → team).

    ``path`` is the materialised chain of ids (``/1/4/9/``) so that "this unit and everything
    under it" is one indexed prefix query (data scoping, R-AX-1).
    """

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices, default=UnitKind.DEPARTMENT)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    is_quality = models.BooleanField(_("quality department"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        node = self.parent
        while node is not None:
            if self.pk and node.pk == self.pk:
                raise ValidationError({"parent": _("A unit cannot be placed under itself.")})
            node = node.parent

    def save(self, *args, **kwargs) -> None:
        # ``path`` is derived from the parent chain and the pk; keep it (and the subtree's, on a
        # move) consistent in the same transaction as the save itself.
        from django.db import transaction

        with transaction.atomic():
            old_path = self.path
            super().save(*args, **kwargs)
            prefix = self.parent.path if self.parent_id else "/"
            new_path = f"{prefix}{self.pk}/"
            if new_path != self.path:
                Unit.objects.filter(pk=self.pk).update(path=new_path)
                self.path = new_path
                if old_path:
                    for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                        Unit.objects.filter(pk=child.pk).update(
                            path=new_path + child.path[len(old_path):]
                        )

    def ancestors(self) -> list["Unit"]:
        """From the root down to this unit's parent."""
        ids = [int(x) for x in self.path.strip("/").split("/") if x][:-1]
        by_id = Unit.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]


class Role(models.TextChoices):
    """R-AX-1 roles. The role decides what a user may do; the tier decides routing (R-RT-1)."""

    CLERK = "clerk", _("Intake clerk")
    HANDLER = "handler", _("Tier-1 handler")
    MANAGER = "manager", _("Tier-2 manager")
    DIRECTOR = "director", _("Tier-3 director")
    GM = "gm", _("General manager")
    QA = "qa", _("Quality assurance")
    RESPONDER = "responder", _("Responsible-unit responder")
    GM_OFFICE = "gm_office", _("GM office")
    AUDITOR = "auditor", _("Auditor (read-only)")
    ADMIN = "admin", _("Administrator")


class Tier(models.IntegerChoices):
    ONE = 1, _("Tier 1: customer service and reception")
    TWO = 2, _("Tier 2: customer service manager")
    THREE = 3, _("Tier 3: director, GM, administration centre")


# The tier each role sits at unless an administrator says otherwise.
DEFAULT_TIER = {
    Role.CLERK: 1, Role.HANDLER: 1, Role.RESPONDER: 1, Role.QA: 1,
    Role.MANAGER: 2, Role.AUDITOR: 1, Role.ADMIN: 1,
    Role.DIRECTOR: 3, Role.GM: 3, Role.GM_OFFICE: 3,
}

# Roles whose work needs a customer's full phone number and address (R-AX-2).
CONTACT_ROLES = frozenset({Role.CLERK, Role.HANDLER, Role.MANAGER, Role.DIRECTOR, Role.GM})
# Roles that may not change anything.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
# Roles that see every complaint in the organisation, whatever their unit.
ORG_WIDE_ROLES = frozenset({Role.GM, Role.GM_OFFICE, Role.AUDITOR, Role.ADMIN})


class StaffManager(UserManager):
    def staff(self) -> models.QuerySet[User]:
        """Active people: what pickers, lists and generated data choose from."""
        return self.filter(is_active=True, is_system=False)


class User(AbstractUser):
    """A member of staff. ``units`` are where they work; data scoping follows them (R-AX-1)."""

    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.HANDLER)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.ONE)
    units = models.ManyToManyField(Unit, verbose_name=_("units"), blank=True, related_name="members")
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # An account the system acts as (the customer portal's recorder): it appears on timelines
    # but never in pickers, user lists or routing; nobody logs in as it.
    is_system = models.BooleanField(_("system account"), default=False)

    objects = StaffManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    @property
    def sees_everything(self) -> bool:
        return self.role in ORG_WIDE_ROLES or self.is_superuser


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user: User, *, name: str = "") -> tuple["ApiToken", str]:
        """Create a token; the raw value is returned once and only its hash is stored."""
        raw = "ksu_" + secrets.token_urlsafe(32)
        return self.create(user=user, key_hash=_hash(raw), name=name), raw

    def user_for(self, raw: str) -> User | None:
        """The active user a live token ``raw`` belongs to, else None. Every API request asks
        this, so its one statement is compiled once (kesu/lib/statements.py); it brings along
        the reference data's ``signature`` (kesu/lib/revisions.py), with which the request
        reads the organisation as its process keeps it (kesu/org/directory.py)."""
        return _TOKEN_USER.first(key_hash=_hash(raw))


_TOKEN_USER = Statement(lambda: User.objects.filter(
    api_tokens__key_hash=Slot("key_hash"), api_tokens__revoked_at=None, is_active=True,
).annotate(signature=signature_column()))


class ApiToken(models.Model):
    """A bearer token for API clients (``Authorization: Bearer <token>``)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")


class Change(Revisioned):
    """A new random ``revision`` each time a statement changes the organisation (units, users,
    who works where), written by database triggers (migration ``org 0003``), never by Python.
    Being ``Revisioned``, it puts those changes into ``signature_now()``, under which each
    process keeps its copy of the organisation (``kesu.org.directory``). Triggers rather than
    a revision on every user: they also see bulk writes, the admin's deletes and raw SQL, and
    the signature stays one row to read however many users there are. A login's ``last_login``
    and a new password are not changes to the organisation and leave it alone."""

    name = models.CharField(max_length=30, primary_key=True)

    class Meta:
        verbose_name = _("organisation change")
        verbose_name_plural = _("organisation changes")
