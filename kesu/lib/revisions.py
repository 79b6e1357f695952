"""Reference data kept per process, and one query that tells every process when it changed.

The business calendar, the time-limit policies, the categories, the keyword rules, the webhook
robots and the organisation are read by every registration and edited a few times a year.
Each of their rows carries a random ``revision``, new on each ``save()`` and
``QuerySet.update()`` (the organisation's one ``org.Change`` row gets it from database
triggers); ``signature_now()`` reads the row count and the summed revisions of every such
table in one query, or ``signature_column()`` as part of a statement that runs anyway. A
process keeps what it built from those tables under the signature it read first, and builds it
again when the signature differs: an administrator's edit, in any process, applies from the
next request on.

Random revisions rather than timestamps (frozen by ``time_machine`` in tests) or ids (reused
after a rollback on SQLite, and by a counter after a rolled-back change); the count catches a
deleted row. Only raw SQL that leaves ``revision`` alone goes unnoticed (the organisation's
triggers see that too).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.db import connection, models
from django.db.models.expressions import RawSQL

Signature = str
T = TypeVar("T")


def new_revision() -> int:
    # 31 bits, so that SUM() over any realistic number of rows fits a 64-bit integer.
    return secrets.randbits(31)


class RevisionedQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        # A new revision with every change, as save() sets one: processes notice it.
        kwargs.setdefault("revision", new_revision())
        return super().update(**kwargs)


class Revisioned(models.Model):
    """A row whose changes every process notices through ``signature_now()``."""

    revision = models.IntegerField(default=new_revision, editable=False)

    objects = RevisionedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.revision = new_revision()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "revision"}
        super().save(*args, **kwargs)


def revisioned_models() -> list[type[models.Model]]:
    """Every installed model that is ``Revisioned``, in a fixed order."""
    return sorted((m for m in apps.get_models() if issubclass(m, Revisioned)), key=lambda m: m._meta.label)


_expression: str | None = None


def signature_sql() -> str:
    """The signature as one SQL expression of text (``count,sum,count,sum,…``), so that a
    statement that runs anyway can bring it along (``signature_column``)."""
    global _expression
    if _expression is None:
        q = connection.ops.quote_name
        parts = []
        for model in revisioned_models():
            table = q(model._meta.db_table)
            parts.append(f"(SELECT COUNT(*) FROM {table})")
            parts.append(f"COALESCE((SELECT SUM({q('revision')}) FROM {table}), 0)")
        # ``||`` turns the numbers into text on SQLite and PostgreSQL alike.
        _expression = "(" + " || ',' || ".join(parts) + ")"
    return _expression


def signature_column() -> RawSQL:
    """``signature_sql()`` for a QuerySet: ``.annotate(signature=signature_column())`` brings the
    signature along with the rows."""
    return RawSQL(signature_sql(), (), output_field=models.TextField())


def signature_now() -> Signature:
    """The row counts and summed revisions of every ``Revisioned`` table, in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + signature_sql())
        return cursor.fetchone()[0]


class Kept(Generic[T]):
    """What ``build`` makes from reference data, kept by the process under the signature it
    was built at. The value is shared by the process's requests and threads: never change it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._kept: tuple[Signature, T] | None = None

    def get(self, signature: Signature | None = None) -> T:
        return self.get_signed(signature)[1]

    def get_signed(self, signature: Signature | None = None) -> tuple[Signature, T]:
        """The value as of ``signature`` (read now unless the caller read it in this
        transaction), with that signature."""
        if signature is None:
            signature = signature_now()
        kept = self._kept
        if kept is not None and kept[0] == signature:
            return kept
        # The signature was read first: a change in between only causes one more build.
        kept = self._kept = (signature, self._build())
        return kept

    def forget(self) -> None:
        self._kept = None
