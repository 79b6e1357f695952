"""The columns of an export, and the built-in ``kesu`` mapping that reads them back.

Headers and choice values are written in the user's language (Chinese by default) so a clerk
can read the sheet; the ``kesu`` mapping accepts the field code, the Chinese and the English
header and, for choices, the code and both labels — so an export re-imports whatever the
language it was written in (the round trip of the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kesu.complaints.models import Category, Channel, ComplainantType, Demand, Level, Status

from .mapping import FieldSpec, Mapping

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Asia/Shanghai, as the pages show times
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class Column:
    field: str  # the import mapping's field name
    label: Any  # lazy translation: the header
    choices: Any = None  # a Choices class whose labels are written
    personal: str = ""  # "phone" or "address": masked for roles without need (R-AX-2)


COLUMNS: tuple[Column, ...] = (
    Column("source_id", _("Number")),
    Column("status", _("state"), Status),
    Column("level", _("level"), Level),
    Column("category", _("category")),
    Column("channel", _("channel"), Channel),
    Column("received_at", _("received at")),
    Column("customer_name", _("customer name")),
    Column("anonymous", _("anonymous")),
    Column("contact_phone", _("contact phone"), personal="phone"),
    Column("other_contact", _("other contact"), personal="phone"),
    Column("address", _("address"), personal="address"),
    Column("complainant_type", _("complainant type"), ComplainantType),
    Column("summary", _("summary")),
    Column("description", _("description")),
    Column("product", _("product or model")),
    Column("lot_number", _("lot number")),
    Column("order_number", _("order number")),
    Column("quantity", _("quantity")),
    Column("defective_quantity", _("defective quantity")),
    Column("delivery_date", _("delivery date")),
    Column("store", _("store or branch")),
    Column("region", _("region")),
    Column("purchase_amount", _("purchase amount (CNY)")),
    Column("demand", _("customer's demand"), Demand),
    Column("demand_detail", _("demand details")),
    Column("foreign", _("foreign customer")),
    Column("unit", _("unit")),
    Column("replied_at", _("replied at")),
    Column("closed_at", _("closed at")),
    Column("closing_reason", _("closing reason")),
)
# Export-only columns: who has it now, and the legacy number it was imported with.
EXTRA_COLUMNS: tuple[tuple[str, Any], ...] = (("owner", _("handler")), ("legacy_id", _("legacy number")))


def headers() -> list[str]:
    return [str(c.label) for c in COLUMNS] + [str(label) for _name, label in EXTRA_COLUMNS]


def _in_languages(fn: Callable[[], Any]) -> set[str]:
    out: set[str] = set()
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            out.add(str(fn()))
    return out


def kesu_mapping() -> Mapping:
    """The mapping of Kesu's own export (``kesu import FILE --mapping kesu``)."""
    fields: dict[str, FieldSpec] = {}
    categories: dict[str, str] = {}
    for code, name, name_en in Category.objects.values_list("code", "name", "name_en"):
        categories.update({code: code, name: code})
        if name_en:
            categories[name_en] = code
    for column in COLUMNS:
        names = [column.field, *sorted(_in_languages(lambda c=column: c.label))]
        spec = FieldSpec(name=column.field, columns=names, formats=(DATETIME_FORMAT, DATE_FORMAT))
        if column.choices is not None:
            value_map: dict[str, Any] = {}
            for value, label in column.choices.choices:
                value_map[str(value)] = value
                for text in _in_languages(lambda lb=label: lb):
                    value_map[text] = value
            spec.map = value_map
        elif column.field == "category":
            spec.map = categories
        fields[column.field] = spec
    return Mapping(source="kesu", name="kesu", fields=fields, defused=True)
