"""Mapping files: which source column feeds which Kesu field, and how its values convert.

A mapping is TOML (see ``mappings/*.toml`` and the README)::

    source = "cfpb"              # name of the legacy system; with the source id it makes an
                                 # import idempotent
    user = "clerk"               # recorder of the imported complaints (``--user`` overrides)
    unit = "service"             # unit code (default: the user's first unit)
    timezone = "Asia/Shanghai"   # of dates without an offset
    encoding = "gb18030"         # optional; detected when absent (``--encoding`` overrides)

    [fields]
    source_id = "Complaint ID"                             # a bare string is a column
    summary = { join = ["Issue", "Sub-issue"], sep = " – " }
    channel = { column = "Submitted via", map = { Web = "web", Phone = "phone" } }
    received_at = { column = "Date received", formats = ["%Y-%m-%d"] }
    anonymous = { value = true }

Each field takes one of ``column`` (a name, or a list of names: the first one present in the
header is used), ``join`` (columns joined with ``sep``, empty ones left out), ``template``
(``"问政用户 {留言用户}"``) or ``value`` (a constant); and optionally ``default`` (when the cell
is empty), ``map`` (legacy value → Kesu code; a value not in it rejects the row unless
``map_default`` is given), ``formats`` (strptime formats for dates) and ``truncate`` (cut text
longer than the field instead of rejecting the row).
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from kesu.lib.errors import Invalid

MAPPINGS_DIR = Path(__file__).parent / "mappings"

# Every field an import can fill: its type and, for text, its length limit. Choice fields are
# checked against the codes by the import action (they depend on stored categories).
TEXT, BOOL, INT, DECIMAL, DATE, DATETIME = "text", "bool", "int", "decimal", "date", "datetime"
FIELDS: dict[str, tuple[str, int | None]] = {
    "source_id": (TEXT, 100),
    "status": (TEXT, 20),
    "channel": (TEXT, 20),
    "category": (TEXT, 50),
    "level": (INT, None),
    "customer_name": (TEXT, 100),
    "anonymous": (BOOL, None),
    "contact_phone": (TEXT, 30),
    "other_contact": (TEXT, 200),
    "address": (TEXT, 300),
    "complainant_type": (TEXT, 20),
    "summary": (TEXT, 200),
    "description": (TEXT, None),
    "product": (TEXT, 200),
    "lot_number": (TEXT, 100),
    "order_number": (TEXT, 100),
    "quantity": (INT, None),
    "defective_quantity": (INT, None),
    "delivery_date": (DATE, None),
    "store": (TEXT, 100),
    "region": (TEXT, 100),
    "purchase_amount": (DECIMAL, None),
    "demand": (TEXT, 20),
    "demand_detail": (TEXT, 500),
    "foreign": (BOOL, None),
    "received_at": (DATETIME, None),
    "replied_at": (DATETIME, None),
    "reply": (TEXT, None),
    "closed_at": (DATETIME, None),
    "closing_reason": (TEXT, None),
    "unit": (TEXT, 50),
}
REQUIRED = ("source_id", "summary", "received_at", "channel")
DEFAULT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d",
                   "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y年%m月%d日")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # see export.defuse
TRUE = {"1", "true", "yes", "y", "是", "对", "真", "√", "x"}
FALSE = {"0", "false", "no", "n", "否", "不", "假", ""}

class MappingError(Invalid):
    """The mapping itself is wrong (or does not fit the file): nothing is imported."""


@dataclass
class FieldSpec:
    name: str
    columns: list[str] = field(default_factory=list)  # candidates for ``column``
    join: list[str] = field(default_factory=list)
    sep: str = " "
    template: str | None = None
    value: Any = None
    has_value: bool = False
    default: Any = None
    map: dict[str, Any] | None = None
    map_default: Any = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    truncate: bool = False
    column: str | None = None  # the candidate found in the header (bound by ``bind``)

    def describe(self) -> str:
        """The source of the value, as a report names it."""
        if self.column:
            return self.column
        if self.join:
            return "+".join(self.join)
        if self.template:
            return self.template
        return ""


@dataclass
class Mapping:
    source: str
    name: str  # file or built-in name, for the job record
    fields: dict[str, FieldSpec]
    user: str | None = None
    unit: str | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    encoding: str | None = None
    sheet: str | None = None
    # Kesu's own CSV export puts an apostrophe before cells a spreadsheet would run as formulas.
    defused: bool = False

    def bind(self, header: list[str]) -> None:
        """Check every column the mapping names against the file's header; choose among
        alternatives. Raises MappingError naming the field and the column."""
        present = set(header)
        for spec in self.fields.values():
            if spec.columns:
                found = next((c for c in spec.columns if c in present), None)
                if found is None:
                    raise MappingError(
                        _("Field “%(field)s”: the file has no column “%(column)s” (its columns are: %(header)s).")
                        % {"field": spec.name, "column": "” / “".join(spec.columns), "header": "、".join(header)},
                        field=spec.name,
                    )
                spec.column = found
            for column in spec.join + _template_columns(spec.template):
                if column not in present:
                    raise MappingError(
                        _("Field “%(field)s”: the file has no column “%(column)s” (its columns are: %(header)s).")
                        % {"field": spec.name, "column": column, "header": "、".join(header)},
                        field=spec.name,
                    )


def _template_columns(template: str | None) -> list[str]:
    if not template:
        return []
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name]


def _spec(name: str, raw: Any) -> FieldSpec:
    if name not in FIELDS:
        raise MappingError(_("Unknown Kesu field “%(field)s” in the mapping; known fields: %(fields)s.")
                           % {"field": name, "fields": ", ".join(FIELDS)}, field=name)
    if isinstance(raw, (str, list)):
        raw = {"column": raw}
    if not isinstance(raw, dict):
        raise MappingError(_("Field “%(field)s”: give a column name or a table.") % {"field": name}, field=name)
    known = {"column", "join", "sep", "template", "value", "default", "map", "map_default", "formats", "truncate"}
    unknown = set(raw) - known
    if unknown:
        raise MappingError(_("Field “%(field)s”: unknown option(s) %(options)s.")
                           % {"field": name, "options": ", ".join(sorted(unknown))}, field=name)
    sources = [k for k in ("column", "join", "template", "value") if k in raw]
    if len(sources) != 1:
        raise MappingError(_("Field “%(field)s”: give exactly one of column, join, template or value.")
                           % {"field": name}, field=name)
    column = raw.get("column")
    spec = FieldSpec(
        name=name,
        columns=[column] if isinstance(column, str) else list(column or []),
        join=list(raw.get("join") or []),
        sep=str(raw.get("sep", " ")),
        template=raw.get("template"),
        value=raw.get("value"),
        has_value="value" in raw,
        default=raw.get("default"),
        map={str(k): v for k, v in raw["map"].items()} if "map" in raw else None,
        map_default=raw.get("map_default"),
        formats=tuple(raw.get("formats") or DEFAULT_FORMATS),
        truncate=bool(raw.get("truncate", False)),
    )
    return spec


def parse(data: dict[str, Any], *, name: str) -> Mapping:
    if not isinstance(data.get("source"), str) or not re.fullmatch(r"[\w.-]{1,50}", data["source"]):
        raise MappingError(_("The mapping needs a “source” name (letters, digits, - _ .; at most 50)."),
                           field="source")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise MappingError(_("The mapping has no [fields] table."), field="fields")
    fields = {key: _spec(key, value) for key, value in raw_fields.items()}
    for required in REQUIRED:
        if required not in fields:
            raise MappingError(_("The mapping must say where “%(field)s” comes from.") % {"field": required},
                               field=required)
    try:
        tz = ZoneInfo(data.get("timezone") or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(_("Unknown time zone “%(tz)s”.") % {"tz": data.get("timezone")}, field="timezone") from None
    return Mapping(source=data["source"], name=name, fields=fields, user=data.get("user"),
                   unit=data.get("unit"), tz=tz, encoding=data.get("encoding"), sheet=data.get("sheet"))


def load(reference: str) -> Mapping:
    """A mapping file, or the name of a shipped one (``cfpb`` → mappings/cfpb.toml; ``kesu`` is
    built from the export's columns)."""
    if reference == "kesu":
        from .columns import kesu_mapping

        return kesu_mapping()
    path = Path(reference)
    if not path.exists() and (MAPPINGS_DIR / f"{reference}.toml").exists():
        path = MAPPINGS_DIR / f"{reference}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(_("Cannot read the mapping %(file)s: %(error)s")
                           % {"file": reference, "error": exc.strerror or exc}, field="mapping") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(_("The mapping %(file)s is not valid TOML: %(error)s")
                           % {"file": reference, "error": exc}, field="mapping") from None
    return parse(data, name=path.name)


# --- converting one row ---------------------------------------------------------------------


@dataclass
class CellError:
    field: str
    column: str
    reason: str


def _raw(spec: FieldSpec, row: dict[str, Any]) -> Any:
    if spec.has_value:
        return spec.value
    if spec.column:
        value = row.get(spec.column, "")
    elif spec.join:
        parts = [_text(row.get(c, "")) for c in spec.join]
        value = spec.sep.join(p for p in parts if p)
    else:
        assert spec.template is not None
        value = spec.template.format_map({k: _text(v) for k, v in row.items()})
    if isinstance(value, str):
        value = value.strip()
    if value in ("", None) and spec.default is not None:
        return spec.default
    return value


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip() if value is not None else ""


def _convert(spec: FieldSpec, value: Any, tz: ZoneInfo) -> Any:
    kind, limit = FIELDS[spec.name]
    if spec.map is not None and value not in ("", None):
        key = _text(value)
        if key in spec.map:
            value = spec.map[key]
        elif spec.map_default is not None:
            value = spec.map_default
        else:
            raise ValueError(_("“%(value)s” is not in the mapping's value map (known: %(known)s).")
                             % {"value": key, "known": "、".join(list(spec.map)[:12])})
    if kind == TEXT:
        text = _text(value)
        if limit and len(text) > limit:
            if not spec.truncate:
                raise ValueError(_("%(length)d characters; at most %(limit)d allowed.")
                                 % {"length": len(text), "limit": limit})
            text = text[:limit]
        return text
    if value in ("", None):
        return None
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(_("“%(value)s” is not yes or no.") % {"value": value})
    if kind == INT:
        try:
            number = int(str(value).replace(",", "").strip())
        except ValueError:
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": value}) from None
        if number < 0:
            raise ValueError(_("“%(value)s” is negative.") % {"value": value})
        return number
    if kind == DECIMAL:
        try:
            amount = Decimal(str(value).replace(",", "").replace("¥", "").replace("￥", "").strip())
        except InvalidOperation:
            raise ValueError(_("“%(value)s” is not an amount.") % {"value": value}) from None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
            raise ValueError(_("“%(value)s” is not an amount.") % {"value": value})
        return amount.quantize(Decimal("0.01"))
    moment = _datetime(value, spec.formats)
    if kind == DATE:
        return moment.date()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _datetime(value: Any, formats: tuple[str, ...]) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = _text(value)
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(_("“%(value)s” is not a date in the format %(formats)s.")
                     % {"value": text, "formats": " / ".join(formats)})


def convert(mapping: Mapping, row: dict[str, Any]) -> tuple[dict[str, Any], list[CellError]]:
    """The Kesu values of one row, and every cell that could not be converted (all of them,
    so that one report lists everything wrong with the row)."""
    values: dict[str, Any] = {}
    errors: list[CellError] = []
    for name, spec in mapping.fields.items():
        try:
            raw = _raw(spec, row)
            if mapping.defused and isinstance(raw, str) and raw[:1] == "'" and raw[1:2] in FORMULA_START:
                raw = raw[1:]
            values[name] = _convert(spec, raw, mapping.tz)
        except ValueError as exc:
            errors.append(CellError(name, spec.describe(), str(exc)))
    for name in REQUIRED:
        if name in values and values[name] in ("", None):
            spec = mapping.fields[name]
            errors.append(CellError(name, spec.describe(), _("A value is required.")))
    return values, errors
