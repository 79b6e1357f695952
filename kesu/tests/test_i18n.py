"""Translations: Simplified Chinese is complete and compiled, and API errors follow the language.

The catalogue is ``kesu/locale/zh_Hans/LC_MESSAGES/django.po``; ``make messages`` extracts the
strings and compiles ``django.mo``. Both files are committed: a machine without GNU gettext
still runs in Chinese. The .po is read by the small parser below (no polib), the .mo by the
standard library's ``gettext``.
"""

from __future__ import annotations

import ast
import gettext
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.utils import translation
from ninja.errors import ValidationError as NinjaValidationError

import kesu
from kesu.api import validation_error
from kesu.complaints.models import Complaint

KESU = Path(kesu.__file__).resolve().parent
MESSAGES = KESU / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
FIX = "Run `make messages`, translate every new or fuzzy entry in django.po, and run it again."

# printf-style placeholders (%(name)s, %d, %.2f, %%) and str.format ones ({name}).
PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
NAMED = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")
BRACES = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- a minimal .po reader ------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"django.po line {self.line}: {context}{self.msgid!r}"


def _unquote(text: str, line: int) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise AssertionError(f"django.po line {line}: expected a quoted string, got {text!r}")
    # PO strings use C escapes (\" \\ \n \t), which Python's string literals share.
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Entries in file order, the header (msgid "") first; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # the keyword that continuation lines extend
    started = False

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if started and target is not None and target[0] == "msgstr":
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith("#"):
            if started and target is not None and target[0] == "msgstr":
                finish()
        elif line.startswith('"'):
            if target is None:
                raise AssertionError(f"django.po line {number}: a string outside any entry")
            value = _unquote(line, number)
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, kind, getattr(entry, kind) + value)
        else:
            keyword, _sep, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()  # a new entry without a blank line between
            if not started:
                entry.line, started = number, True
            m = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgctxt", "msgid", "msgid_plural"):
                setattr(entry, keyword, _unquote(rest, number))
                target = (keyword, 0)
            elif keyword == "msgstr" or m:
                index = int(m.group(1)) if m else 0
                entry.msgstr[index] = _unquote(rest, number)
                target = ("msgstr", index)
            else:
                raise AssertionError(f"django.po line {number}: cannot read {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert PO.exists(), f"{PO} is missing. {FIX}"
    entries = parse_po(PO)
    assert entries and entries[0].msgid == "", "django.po must start with its header entry"
    return entries


def _messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid != ""]


def _header(entries: list[Entry]) -> dict[str, str]:
    lines = entries[0].msgstr.get(0, "").splitlines()
    return {k.strip(): v.strip() for k, _sep, v in (line.partition(":") for line in lines) if k}


def _placeholders(entry: Entry, text: str) -> list[str]:
    found = PRINTF.findall(text) if "python-format" in entry.flags else NAMED.findall(text)
    return sorted(found + BRACES.findall(text))


# --- (a) the catalogue is complete --------------------------------------------------------


def test_po_header_is_utf8_simplified_chinese_and_not_fuzzy(po_entries):
    header = _header(po_entries)
    assert "fuzzy" not in po_entries[0].flags, f"The header is marked fuzzy. {FIX}"
    assert "charset=UTF-8" in header.get("Content-Type", "")
    assert header.get("Language") == "zh_Hans"
    assert header.get("Plural-Forms", "").startswith("nplurals=1;")


def test_the_catalogue_has_the_core_vocabulary(po_entries):
    """Spot checks of the glossary (SPEC.md): the words a complaint manager expects."""
    zh = {e.msgid: e.msgstr.get(0) for e in _messages(po_entries)}
    expected = {
        "Level 1 (general)": "一级（一般）",
        "Complaint %(number)s was not found.": "未找到投诉 %(number)s。",
        "Tier-2 manager": "二级：客服主管",
        "responsible unit": "对策单位",
        "first responder": "首问负责人",
        "Escalated": "已升级",
        "Transferred": "已转派",
        "Closed": "已结案",
        "Linked as a repeat complaint": "已关联为重复投诉",
    }
    for msgid, msgstr in expected.items():
        assert zh.get(msgid) == msgstr, (msgid, zh.get(msgid))


def test_every_entry_has_a_translation_that_is_not_fuzzy(po_entries):
    messages = _messages(po_entries)
    assert len(messages) > 100
    problems = []
    for entry in messages:
        forms = [0] if entry.msgid_plural is None else sorted(entry.msgstr) or [0]
        if "fuzzy" in entry.flags:
            problems.append(f"{entry.label} is fuzzy")
        elif any(not entry.msgstr.get(i, "").strip() for i in forms):
            problems.append(f"{entry.label} has no translation")
        elif not all(CJK.search(entry.msgstr[i]) for i in forms):
            problems.append(f"{entry.label} is not translated into Chinese: {entry.msgstr!r}")
    assert not problems, "\n".join(problems + [FIX])


def test_every_translation_keeps_the_placeholders(po_entries):
    problems = []
    for entry in _messages(po_entries):
        expected = _placeholders(entry, entry.msgid)
        if entry.msgid_plural is not None:
            expected = sorted(set(expected) | set(_placeholders(entry, entry.msgid_plural)))
        for index, msgstr in entry.msgstr.items():
            got = _placeholders(entry, msgstr)
            if entry.msgid_plural is not None:
                got = sorted(set(got))
            if got != expected:
                problems.append(f"{entry.label}: msgstr[{index}] has {got}, the msgid {expected}")
    assert not problems, "\n".join(problems)


def test_no_msgid_appears_twice(po_entries):
    keys = [(e.msgctxt, e.msgid) for e in _messages(po_entries)]
    assert len(keys) == len(set(keys))


# --- every string the code translates is in the catalogue ---------------------------------

# xgettext's keywords for Python as Django's makemessages sets them: name → (context, msgid)
# argument positions.
KEYWORDS = {
    "_": (None, 0), "gettext": (None, 0), "gettext_lazy": (None, 0), "gettext_noop": (None, 0),
    "ngettext": (None, 0), "ngettext_lazy": (None, 0),
    "pgettext": (0, 1), "pgettext_lazy": (0, 1), "npgettext": (0, 1), "npgettext_lazy": (0, 1),
}


def _code_msgids() -> dict[tuple[str | None, str], str]:
    """(context, msgid) → where, for every literal gettext call in kesu/ outside tests."""
    found: dict[tuple[str | None, str], str] = {}
    for path in sorted(KESU.rglob("*.py")):
        rel = path.relative_to(KESU)
        if "tests" in rel.parts[:-1] or rel.parts[0] == "locale":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name not in KEYWORDS:
                continue
            ctx_at, msgid_at = KEYWORDS[name]
            args = node.args
            if len(args) <= msgid_at or not isinstance(args[msgid_at], ast.Constant):
                continue
            msgid = args[msgid_at].value
            context = None
            if ctx_at is not None:
                if not isinstance(args[ctx_at], ast.Constant):
                    continue
                context = args[ctx_at].value
            if isinstance(msgid, str) and msgid:
                found.setdefault((context, msgid), f"{rel}:{node.lineno}")
    return found


# {% translate "…" %} / {% trans '…' %} with an optional context "…" ({% blocktranslate %} is
# left to makemessages: its msgid depends on the block's variables and whitespace).
TEMPLATE_TAG = re.compile(
    r"""\{%-?\s*(?:trans|translate)\s+(?P<q>["'])(?P<msgid>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
    r"""(?:[^%]*?\bcontext\s+(?P<q2>["'])(?P<ctx>(?:\\.|(?!(?P=q2)).)*)(?P=q2))?""",
    re.DOTALL,
)


def _template_msgids() -> dict[tuple[str | None, str], str]:
    found: dict[tuple[str | None, str], str] = {}
    for path in sorted(KESU.rglob("templates/**/*")):
        if not path.is_file() or path.suffix not in (".html", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for m in TEMPLATE_TAG.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.setdefault((m.group("ctx"), m.group("msgid")), f"{path.relative_to(KESU)}:{line}")
    return found


def test_every_string_the_code_translates_is_in_the_catalogue(po_entries):
    in_po = {(e.msgctxt, e.msgid) for e in _messages(po_entries)}
    used = {**_template_msgids(), **_code_msgids()}
    missing = [f"{where}: {msgid!r}" for (ctx, msgid), where in used.items()
               if (ctx, msgid) not in in_po]
    assert not missing, "Not in django.po yet:\n" + "\n".join(missing + [FIX])


# --- (b) django.mo is compiled from this django.po ----------------------------------------


def test_mo_is_compiled_from_the_current_po(po_entries):
    assert MO.exists(), f"{MO} is missing. {FIX}"
    with MO.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    assert "charset=UTF-8" in catalogue.info().get("content-type", "")
    stale = []
    for entry in _messages(po_entries):
        if "fuzzy" in entry.flags:
            continue  # reported by the completeness test; msgfmt leaves fuzzy entries out
        if entry.msgid_plural is None:
            got = (catalogue.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt is not None
                   else catalogue.gettext(entry.msgid))
            if got != entry.msgstr.get(0):
                stale.append(f"{entry.label}: .mo says {got!r}, .po says {entry.msgstr.get(0)!r}")
        else:
            for n, index in ((1, 0), (2, 0)):
                got = (catalogue.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                       if entry.msgctxt is not None
                       else catalogue.ngettext(entry.msgid, entry.msgid_plural, n))
                if got != entry.msgstr.get(index):
                    stale.append(f"{entry.label} (n={n}): .mo says {got!r}")
    assert not stale, "django.mo is older than django.po:\n" + "\n".join(stale + [FIX])


def test_django_serves_the_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Complaint %(number)s was not found.") == "未找到投诉 %(number)s。"
        assert str(Complaint._meta.get_field("level").verbose_name) == "级别"
    with translation.override("en"):
        assert translation.gettext("Level 1 (general)") == "Level 1 (general)"


# --- (c) API errors in the request's language ---------------------------------------------

CUSTOMER = {"customer_name": "张三", "contact_phone": "13800001111"}
LONG_SUMMARY = {**CUSTOMER, "channel": "phone", "summary": "x" * 201}
NO_CHANNEL = {**CUSTOMER, "summary": "买的电饭煲不加热"}


def _post_english(api, data: dict) -> dict:
    client = api("clerk")
    r = client.client.post("/api/v1/complaints", data, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {client.token}", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422, r.content
    return r.json()


def test_schema_errors_are_chinese_by_default(api):
    r = api("clerk").post("/complaints", LONG_SUMMARY)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid" and body["field"] == "summary"
    assert body["message"] == "“投诉摘要”最多 200 个字符。"
    assert body["errors"] == [{"field": "summary", "message": body["message"], "type": "string_too_long"}]

    r = api("clerk").post("/complaints", NO_CHANNEL)
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "channel"
    assert body["message"] == "“渠道”为必填项。"
    assert Complaint.objects.count() == 0


def test_schema_errors_are_english_on_request(api):
    body = _post_english(api, LONG_SUMMARY)
    assert body["field"] == "summary"
    assert body["message"] == "“summary” may be at most 200 characters."
    body = _post_english(api, NO_CHANNEL)
    assert body["field"] == "channel" and body["message"] == "“channel” is required."
    assert not CJK.search(body["message"])


def test_every_error_of_a_request_is_translated_and_the_first_is_the_message(api):
    data = {"channel": "pigeon", "summary": "", "level": 9, "quantity": "a",
            "purchase_amount": "1.234", "delivery_date": "2026-13-01", "received_at": "yesterday",
            "anonymous": "maybe"}
    r = api("clerk").post("/complaints", data)
    assert r.status_code == 422
    body = r.json()
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == set(data)
    assert body["message"] == body["errors"][0]["message"]
    assert body["field"] == body["errors"][0]["field"]
    for e in body["errors"]:
        assert CJK.search(e["message"]), e
    assert "phone, visit, letter" in errors["channel"]["message"]  # the accepted codes, no English "or"
    assert errors["summary"]["message"] == "“投诉摘要”不能为空。"
    assert errors["level"]["message"] == "“级别”不能大于 3。"
    assert errors["purchase_amount"]["message"] == "“购买金额（元）”最多保留 2 位小数。"
    assert "2026-11-01" in errors["delivery_date"]["message"]


def _handle(errors: list[dict], language: str) -> dict:
    request = RequestFactory().post("/api/v1/complaints")
    with translation.override(language):
        response = validation_error(request, NinjaValidationError(errors))
    assert response.status_code == 422
    return json.loads(response.content)


PYDANTIC_ERRORS = [
    ("missing", None, "必填"),
    ("string_too_long", {"max_length": 200}, "最多 200 个字符"),
    ("string_too_short", {"min_length": 3}, "至少需要 3 个字符"),
    ("string_type", None, "文本"),
    ("int_parsing", None, "整数"),
    ("int_type", None, "整数"),
    ("greater_than", {"gt": 0}, "大于 0"),
    ("greater_than_equal", {"ge": 1}, "不能小于 1"),
    ("less_than", {"lt": 10}, "小于 10"),
    ("less_than_equal", {"le": 3}, "不能大于 3"),
    ("enum", {"expected": "'phone', 'visit' or 'letter'"}, "phone, visit, letter"),
    ("literal_error", {"expected": "'a' or 'b'"}, "a, b"),
    ("bool_parsing", None, "true 或 false"),
    ("bool_type", None, "true 或 false"),
    ("datetime_parsing", {"error": "input is too short"}, "日期时间"),
    ("datetime_from_date_parsing", {"error": "input is too short"}, "日期时间"),
    ("date_parsing", {"error": "input is too short"}, "日期"),
    ("date_from_datetime_parsing", {"error": "invalid character"}, "日期"),
    ("decimal_parsing", None, "数字"),
    ("decimal_max_digits", {"max_digits": 12}, "12 位数字"),
    ("decimal_max_places", {"decimal_places": 2}, "2 位小数"),
    ("decimal_type", None, "数字"),
    ("json_invalid", {"error": "EOF"}, "JSON"),
    ("model_attributes_type", None, "JSON 对象"),
    ("dict_type", None, "JSON 对象"),
    ("list_type", None, "列表"),
    ("value_error", {"error": "号码格式不对"}, "号码格式不对"),
]


@pytest.mark.parametrize(("kind", "ctx", "words"), PYDANTIC_ERRORS,
                         ids=[p[0] for p in PYDANTIC_ERRORS])
def test_each_common_pydantic_error_reads_in_chinese_and_names_the_field(kind, ctx, words):
    error = {"type": kind, "loc": ("body", "payload", "quantity"), "msg": "pydantic's English text"}
    if ctx is not None:
        error["ctx"] = ctx
    body = _handle([error], "zh-hans")
    assert body["field"] == "quantity"
    assert body["message"].startswith("“数量”"), body["message"]
    assert words in body["message"] and "pydantic" not in body["message"]
    assert body["errors"] == [{"field": "quantity", "message": body["message"], "type": kind}]

    english = _handle([error], "en")["message"]
    assert "“quantity”" in english, english
    if kind != "value_error":  # a validator's own text is whatever language it was raised in
        assert not CJK.search(english), english


def test_unknown_types_keep_pydantic_text_and_unknown_fields_their_name():
    url = {"type": "url_parsing", "loc": ("body", "payload", "website"), "msg": "Input should be a valid URL"}
    body = _handle([url], "zh-hans")
    assert body["message"] == "“website”的值无效：Input should be a valid URL"

    missing = {"type": "missing", "loc": ("body", "payload", "version"), "msg": "Field required"}
    in_list = {"type": "int_parsing", "loc": ("query", "level", 0), "msg": "Input should be a valid integer"}
    body = _handle([missing, in_list], "zh-hans")
    assert body["message"] == "“版本号”为必填项。" and body["field"] == "version"
    assert body["errors"][1] == {"field": "level.0", "message": "“级别”必须是整数。", "type": "int_parsing"}
