"""Planning the generated complaints: who complains, about what, through which channel, how far
each complaint has got, and when.

1. Customers: about 15 % of those with a phone complain more than once (2–5 complaints within
   90 days, most about the same matter again); 2 % of complaints are anonymous and 3 % leave
   only a WeChat id or an email; 3 % of customers are foreign and write in English.
2. Each complaint's channel, text, intake category and level, and its target state.
3. ``classify``: levels, categories and repeat links as ``actions._register`` decides them, in
   registration order within the customer (a repeat can only link to the same customer).
4. ``place``: pick whole customers as "due" until exactly the requested fraction of open
   deadline rows is due at the sweep time T, then put every customer in time:
   - due: all complaints arrive at least 25 days before T, so every open row is overdue at T;
   - recent (open, not due): all complaints arrive after T, so every limit lies after T;
   - past (closed only): anywhere in the history.
   Under the default policies every complaint open for 18 days has an overdue overall limit,
   so a large open backlog with few rows due can only be made by putting the sweep before the
   backlog's arrival; its months must still fit the 5-digit serial of R-IN-4.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from kesu.complaints.actions import REPEAT_SIMILARITY, REPEAT_WINDOW, Intake
from kesu.complaints.management.commands import demo as seeds
from kesu.complaints.models import (
    LEVEL_3_CHANNELS,
    PAPER_CHANNELS,
    Category,
    Channel,
    Complaint,
    Customer,
    KeywordRule,
    NumberSequence,
    Status,
)
from kesu.complaints.routing import handler_tier, review_tier
from kesu.lib.phones import normalize_phone
from kesu.lib.progress import Progress
from kesu.sla import deadlines as sla
from kesu.sla.calendar import BusinessCalendar
from kesu.sla.models import DeadlineKind

from . import fasttext, sources
from .org import Org
from .simulate import Limit, latest_due, row_kinds

K = DeadlineKind
SH = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
MONTH_CAPACITY = 99_999  # R-IN-4: five digits of serial per month
MONTH_TARGET = 70_000  # complaints a month the layout aims at, leaving room for real ones
DUE_GAP = 25  # days from a due customer's last arrival to T
CLUSTER_SPAN = 90  # days: a repeat complainant's complaints fall within this
STEPS_SPAN = 22  # days: more than registration plus handling up to closing ever takes


def _v(value: Any) -> Any:
    """Plain values, not enum members (psycopg would store an Enum's name)."""
    return value.value if isinstance(value, Enum) else value


# R-IN-1: how complaints arrive (the demo's weights, plus the rarer channels).
CHANNELS = [(_v(c), w) for c, w in [*seeds.CHANNELS, (Channel.FAX, 1), (Channel.REGULATOR, 1)]]
IN_PERSON = {_v(c) for c in (Channel.VISIT, Channel.DEALER, Channel.INTERNAL)}
PAPER = {_v(c) for c in PAPER_CHANNELS}
LEVEL_3 = {_v(c) for c in LEVEL_3_CHANNELS}
OPENINGS = {_v(c): text for c, text in seeds.OPENINGS.items()}
HOURS = {_v(c): hours for c, hours in seeds.CHANNEL_HOURS.items()}
OPEN_STATES = [(Status.REGISTERED.value, 15), (Status.ACCEPTED.value, 25),
               (Status.INVESTIGATING.value, 35), (Status.REPLIED.value, 25)]
CLOSED = Status.CLOSED.value
STEPS = {
    Status.REGISTERED.value: (),
    Status.ACCEPTED.value: ("accept",),
    Status.INVESTIGATING.value: ("accept", "investigate"),
    Status.REPLIED.value: ("accept", "investigate", "reply"),
    CLOSED: ("accept", "investigate", "reply", "platform", "review", "close"),
}
# Seconds after the previous step (low, high), then moved into staff hours 08:00–21:00.
DELAYS = {"accept": (300, 72_000), "investigate": (720, 172_800), "reply": (86_400, 518_400),
          "platform": (360, 86_400), "review": (3_600, 432_000), "close": (300, 86_400)}
STEP_INDEX = {name: i for i, name in enumerate(DELAYS)}


def fixed(text: str, limit: int | None = None) -> str:
    """``clean_text`` until it changes nothing (what the action stores for this input), cut to
    ``limit`` characters."""
    text = fasttext.clean(text)
    if limit is not None and len(text) > limit:
        text = fasttext.clean(text[:limit])
    return text


def described(p: Plan, *parts: str) -> None:
    """Set ``p.description`` to the parts joined. Each part but the last ends in punctuation, so
    no search token spans two parts and each part's tokens can be computed once
    (``writer.Tokens``); if joining made something ``clean_text`` would change, one part."""
    text = "".join(parts)
    if fixed(text) != text:
        text = fixed(text)
        parts = (text,)
    p.description, p.parts = text, parts


class Plan:
    """One complaint to be: the intake a clerk would record, the path it takes and, once placed
    in time, its times, number and ids."""

    __slots__ = (
        "address",
        "anonymous",
        "base",
        "bought_days",
        "category",
        "channel",
        "cluster",
        "complainant_type",
        "customer_id",
        "customer_name",
        "day",
        "delays",
        "demand",
        "demand_detail",
        "description",
        "foreign",
        "id",
        "idx",
        "intake_category",
        "intake_level",
        "level",
        "lot",
        "matched",
        "notes",
        "number",
        "open_rows",
        "order_number",
        "other_contact",
        "paper_delay",
        "parts",
        "phone",
        "policies",
        "product",
        "purchase_amount",
        "quantity",
        "raw_phone",
        "reasons",
        "received",
        "recorder",
        "region",
        "registered",
        "repeat_of",
        "reply",
        "status",
        "store",
        "suggested_category",
        "suggested_level",
        "summary",
        "tod",
        "unit",
    )

    def __init__(self, idx: int, status: str) -> None:
        self.idx, self.status = idx, status
        self.base: Plan | None = None
        self.repeat_of: Plan | None = None
        self.lot: tuple[str, int, str, int] | None = None
        self.bought_days: int | None = None
        self.number, self.id, self.customer_id = "", None, None

    def rel_received(self) -> timedelta:
        """Arrival, from the customer's anchor day (Shanghai midnight)."""
        return self.day * DAY + self.tod

    def rel_registered(self) -> timedelta:
        return self.rel_received() + self.paper_delay

    @property
    def text(self) -> str:
        return f"{self.summary} {self.description}"

    def lot_number(self) -> str:
        """The lot printed on the product, made weeks before it was bought (a follow-up names its
        base complaint's lot)."""
        source = self.base or self
        if source.lot is None or source.bought_days is None:
            return ""
        prefix, made_days, letter, line = source.lot
        made = (source.received - timedelta(days=source.bought_days + made_days)).astimezone(SH)
        return f"{prefix}{made:%y%m}{letter}{line:02d}"

    def delivery_date(self) -> date | None:
        source = self.base or self
        if source.bought_days is None:
            return None
        return (source.received - timedelta(days=source.bought_days)).astimezone(SH).date()

    def intake(self) -> Intake:
        """The ``actions.Intake`` a clerk submits for this complaint."""
        return Intake(
            channel=self.channel, summary=self.summary, customer_name=self.customer_name,
            anonymous=self.anonymous, contact_phone=self.raw_phone, other_contact=self.other_contact,
            address=self.address, description=self.description,
            received_at=self.received if self.channel in PAPER else None,
            category=self.intake_category, level=self.intake_level,
            complainant_type=self.complainant_type, product=self.product,
            lot_number=self.lot_number(), order_number=self.order_number, quantity=self.quantity,
            delivery_date=self.delivery_date(), store=self.store, region=self.region,
            purchase_amount=self.purchase_amount, demand=self.demand,
            demand_detail=self.demand_detail, foreign=self.foreign, unit=self.unit.code,
        )

    def step_times(self) -> list[tuple[str, datetime]]:
        """The handling steps after registration, each with its time."""
        out = []
        t = self.registered
        for name in STEPS[self.status]:
            if name == "platform" and self.channel != Channel.TRANSFER_12315.value:
                continue
            delay = self.delays[STEP_INDEX[name]]
            t = _staff_hours(t + timedelta(seconds=delay), delay)
            out.append((name, t))
        return out


def _staff_hours(t: datetime, jitter: float) -> datetime:
    local = t.astimezone(SH)
    if local.hour >= 21:
        local = (local + DAY).replace(hour=8, minute=int(jitter) % 50)
    elif local.hour < 8:
        local = local.replace(hour=8, minute=int(jitter) % 50)
    return local.astimezone(UTC)


@dataclass
class Cluster:
    """One customer's complaints (or one anonymous complaint): they move in time together."""

    plans: list[Plan]
    phone: str = ""
    last_day: int = 0  # days from the anchor to the last registration (upper bound)
    group: str = ""  # "due", "recent" or "past"
    anchor: date | None = None

    @property
    def open_rows(self) -> int:
        return sum(p.open_rows for p in self.plans)

    @property
    def span(self) -> int:
        return self.last_day + STEPS_SPAN


class Rules:
    """``classification.suggest`` with the rules loaded once (same order, same result).

    The suggestion depends only on which keywords occur in the text. A keyword cannot occur
    across two parts of a text when none of its characters is the punctuation or space that
    ends a part, so the keywords found in each part are cached, and so is the suggestion for
    each set of keywords found."""

    def __init__(self) -> None:
        self.rules = [(rule.keyword_list(), frozenset(rule.keyword_list()), rule.category, rule.level,
                       rule.weight)
                      for rule in KeywordRule.objects.filter(active=True).select_related("category")]
        self.words = sorted({k for rule in self.rules for k in rule[0]})
        self.word_chars = frozenset("".join(self.words))
        self._found: dict[str, frozenset[str]] = {}
        self._suggestions: dict[frozenset[str], tuple[Category | None, int | None, list[str]]] = {}

    def found(self, text: str) -> frozenset[str]:
        hit = self._found.get(text)
        if hit is None:
            if len(self._found) > 500_000:
                self._found.clear()
            hit = self._found[text] = frozenset(k for k in self.words if k in text)
        return hit

    def suggest_for(self, summary: str, parts: tuple[str, ...], product: str,
                    demand_detail: str) -> tuple[Category | None, int | None, list[str]]:
        """``suggest(f"{summary} {description} {product} {demand_detail}")`` for a description
        made of ``parts``."""
        if " " in self.word_chars or any(part[-1:] in self.word_chars for part in parts[:-1]):
            return self.suggest(f"{summary} {''.join(parts)} {product} {demand_detail}")
        found = frozenset().union(self.found(summary), *map(self.found, parts), self.found(product),
                                  self.found(demand_detail))
        return self._suggest(found)

    def suggest(self, haystack: str) -> tuple[Category | None, int | None, list[str]]:
        return self._suggest(frozenset(k for k in self.words if k in haystack))

    def _suggest(self, found: frozenset[str]) -> tuple[Category | None, int | None, list[str]]:
        cached = self._suggestions.get(found)
        if cached is not None:
            return cached[0], cached[1], list(cached[2])
        category, level, matched, best = None, None, [], -1
        for keywords, keyword_set, rule_category, rule_level, weight in self.rules:
            if found.isdisjoint(keyword_set):
                continue
            hits = [k for k in keywords if k in found]
            matched.extend(hits)
            if rule_category is not None and rule_category.active and weight > best:
                category, best = rule_category, weight
            if rule_level is not None:
                level = max(level or 0, rule_level)
        self._suggestions[found] = (category, level, matched)
        return category, level, list(matched)


class Planner:
    def __init__(self, *, org: Org, texts: sources.Sources, seed: int, open_fraction: float,
                 due_fraction: float, repeat_share: float, quiet: bool = False) -> None:
        self.org, self.texts = org, texts
        self.rng = random.Random(seed)
        self.open_fraction, self.due_fraction = open_fraction, due_fraction
        self.repeat_share, self.quiet = repeat_share, quiet
        self.rules = Rules()
        self.categories = {c.code: c for c in Category.objects.filter(active=True)}
        self.other = Category.objects.get(code="other")
        self.calendar = BusinessCalendar.load()
        self.limits: dict[int, Limit] = {}
        self._policies: dict[tuple[int, int, str, bool], dict[str, Limit]] = {}
        self.taken_phones = set(Customer.objects.exclude(phone=None).values_list("phone", flat=True))
        self.problems = [(p, p.weight) for p in seeds.PROBLEMS]
        self._stores: dict[int, str] = {}
        # Filled by ``place``:
        self.open_rows = self.due_rows = self.months = 0

    def policies(self, level: int, category: Category, channel: str, foreign: bool) -> dict[str, Limit]:
        """``deadlines.applicable`` for a kind of complaint (it depends on nothing else)."""
        key = (level, category.pk, channel, foreign)
        found = self._policies.get(key)
        if found is None:
            probe = Complaint(level=level, category=category, channel=channel, foreign=foreign)
            found = {}
            for kind, policy in sla.applicable(probe).items():
                if policy.pk not in self.limits:
                    self.limits[policy.pk] = Limit(policy, self.calendar)
                found[_v(kind)] = self.limits[policy.pk]
            self._policies[key] = found
        return found

    # --- 1. customers and complaints ------------------------------------------------------

    def plan(self, n: int) -> list[Cluster]:
        rng = self.rng
        n_open = round(self.open_fraction * n)
        open_flags = [True] * n_open + [False] * (n - n_open)
        rng.shuffle(open_flags)
        clusters: list[Cluster] = []
        idx = 0
        progress = Progress("planning", n, unit="complaints", quiet=self.quiet)
        while idx < n:
            r = rng.random()
            if r < 0.02:
                kind, size = "anonymous", 1
            elif r < 0.05:
                kind, size = "no_phone", 1
            else:
                kind = "foreign" if rng.random() < 0.03 and self.texts.english else "customer"
                size = 1
                if rng.random() < self.repeat_share:
                    size = rng.choices((2, 3, 4, 5), weights=(60, 25, 10, 5))[0]
            size = min(size, n - idx)
            plans = [Plan(idx + i, self._pick(OPEN_STATES) if open_flags[idx + i] else CLOSED)
                     for i in range(size)]
            cluster = Cluster(plans)
            self._draw(cluster, kind)
            self._classify(cluster)
            clusters.append(cluster)
            idx += size
            progress.advance(size)
        progress.finish()
        return clusters

    def _pick(self, weighted: list[tuple[Any, int]]) -> Any:
        return self.rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]

    def _new_phone(self, kind: str) -> tuple[str, str]:
        """A phone no customer has yet: (as the clerk typed it, normalised)."""
        rng = self.rng
        while True:
            if kind == "foreign":
                raw = f"+1 {rng.randint(201, 989)} 555 {rng.randrange(10_000):04d}"
            elif rng.random() < 0.07:
                city = rng.choice(sources.CITIES)
                raw = f"{city.area_code}-{rng.randint(5, 8)}{rng.randrange(10**7):07d}"
            else:
                raw = rng.choice(seeds.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            phone = normalize_phone(raw)
            if phone not in self.taken_phones:
                break
        self.taken_phones.add(phone)
        if len(raw) == 11 and rng.random() < 0.2:
            raw = rng.choice([f"{raw[:3]} {raw[3:7]} {raw[7:]}", f"+86 {raw}", f"{raw[:3]}-{raw[3:7]}-{raw[7:]}"])
        return raw, phone

    def _draw(self, cluster: Cluster, kind: str) -> None:
        rng = self.rng
        unit = rng.choice(self.org.stores)
        city = sources.CITIES[1] if kind == "foreign" else rng.choice(sources.CITIES)
        raw_phone = phone = other = name = salutation = address = ""
        if kind in ("customer", "foreign"):
            raw_phone, phone = self._new_phone(kind)
            cluster.phone = phone
        if kind == "foreign":
            name = rng.choice(sources.ENGLISH_NAMES)
            salutation = name.split()[-1]
            other = f"Email: {name.replace(' ', '.').lower()}{rng.randrange(1000)}@example.com"
        elif kind != "anonymous":
            surname = rng.choice(seeds.SURNAMES)
            male = rng.random() < 0.5
            salutation = surname + ("先生" if male else "女士")
            name = salutation if rng.random() < 0.15 else surname + rng.choice(seeds.MALE if male else seeds.FEMALE)
            if kind == "no_phone":
                other = rng.choice([f"微信号: wx_{rng.randrange(10**8):08d}",
                                    f"邮箱: user{rng.randrange(10**7)}@example.cn"])
        if kind != "anonymous":
            address = (f"{city.district}{rng.choice(city.streets)}{rng.randint(1, 300)}号"
                       f"{rng.randint(1, 20)}号楼{rng.randint(1, 6)}单元"
                       f"{rng.randint(1, 28)}{rng.randint(1, 4):02d}室")
        day = 0
        previous: Plan | None = None
        for p in cluster.plans:
            p.cluster, p.unit = cluster, unit
            p.anonymous, p.foreign = kind == "anonymous", kind == "foreign"
            p.customer_name, p.raw_phone, p.phone = name, raw_phone, phone
            p.other_contact, p.address = other, address
            p.intake_level = 2 if rng.random() < 0.03 else None
            same_matter = previous is not None and rng.random() < 0.6
            if previous is not None:
                day += rng.randint(1, 20) if same_matter else rng.randint(10, 45)
            p.day = min(day, CLUSTER_SPAN)
            if same_matter and previous is not None:
                self._follow_up(p, previous.base or previous)
            else:
                p.channel = self._pick(CHANNELS)
                if p.anonymous and p.channel in IN_PERSON | {Channel.PHONE.value}:
                    p.channel = Channel.LETTER.value
                if p.foreign:
                    self._english(p)
                elif rng.random() < 0.55 or not self.texts.chinese:
                    self._product(p, salutation, city)
                else:
                    self._real(p, salutation, city)
            p.complainant_type = ("dealer" if p.channel == Channel.DEALER else
                                  "employee" if p.channel == Channel.INTERNAL else "consumer")
            p.recorder = rng.choice(self.org.recorders_for(unit, p.channel in IN_PERSON))
            lo, hi = HOURS.get(p.channel, (9, 20))
            p.tod = timedelta(seconds=rng.randrange(lo * 3600, hi * 3600), microseconds=rng.randrange(10**6))
            p.paper_delay = (timedelta(seconds=rng.randrange(3600, 72 * 3600), microseconds=rng.randrange(10**6))
                             if p.channel in PAPER else timedelta(0))
            p.delays = tuple(rng.uniform(lo, hi) for lo, hi in DELAYS.values())
            p.notes = (rng.choice(sources.ACCEPT_NOTES), rng.choice(sources.INVESTIGATE_NOTES),
                       rng.choice(sources.PLATFORM_RESULTS), rng.choice(seeds.REVIEW_NOTES),
                       rng.choice(seeds.CLOSE_REASONS))
            previous = p
        cluster.last_day = max(p.day for p in cluster.plans) + 3

    def _product(self, p: Plan, salutation: str, city: sources.City) -> None:
        """A home-appliance complaint from the demo's seed templates."""
        rng = self.rng
        problem = self._pick(self.problems)
        kind = rng.choice(problem.kinds)
        models_, low, high, lot_prefix = seeds.PRODUCTS[kind]
        model = rng.choice(models_)
        if problem.paired:
            options = [i for i, (a, b) in enumerate(zip(problem.summaries, problem.symptoms))
                       if seeds.fits(a, kind) is not None and seeds.fits(b, kind) is not None]
            variant = rng.choice(options)
            summary = seeds.fits(problem.summaries[variant], kind) or ""
            symptom = seeds.fits(problem.symptoms[variant], kind) or ""
        else:
            summary = rng.choice(seeds.fitting(problem.summaries, kind))
            symptom = rng.choice(seeds.fitting(problem.symptoms, kind))
        bought_days = rng.randint(*seeds.BOUGHT_DAYS.get(problem.key, (5, 400)))
        online = rng.random() < 0.4
        order = sources.new_order_number(rng, online)
        demand = _v(rng.choice(problem.demands))
        asks, detail = seeds.ASKS.get(problem.key, (seeds.DEMAND_SENTENCES[demand], seeds.DEMAND_DETAILS[demand]))
        opening = OPENINGS.get(p.channel, "客户反映：")
        when = sources.months_phrase(bought_days)
        impact = rng.choice(seeds.IMPACTS)
        if problem.key == "suggestion":
            parts: tuple[str, ...] = (opening, f"{symptom}。")
        elif online:
            parts = (opening, f"{when}在官方商城下单（", f"订单号{order}）", f"购买的{kind}（", f"{model}），",
                     f"{symptom}。", impact, rng.choice(asks))
        else:
            parts = (opening, f"{when}在{self._store(p.unit)}购买的{kind}（", f"{model}），", f"{symptom}。",
                     impact, rng.choice(asks))
        fix = rng.choice(problem.fixes) if problem.fixes else "已按公司规定为您处理"
        amount = rng.randrange(problem.amount[0], problem.amount[1] + 1, 10)
        p.summary = fixed(summary.format(k=kind), 200)
        described(p, *(part for part in parts if part))
        p.reply = fixed(f"{salutation or '客户'}您好：关于您反映的“{p.summary}”，经核实，我们已"
                        f"{fix.format(amt=amount)}。给您带来的不便深表歉意，感谢您的理解与支持。")
        p.intake_category = problem.category if rng.random() < 0.8 and problem.category in self.categories else None
        p.store, p.region = self._store(p.unit), city.district
        p.demand, p.demand_detail = demand, detail
        if problem.key == "suggestion":
            p.product, p.order_number, p.quantity, p.purchase_amount = "", "", None, None
        else:
            p.product = f"{kind} {model}"
            p.order_number = "" if p.anonymous else order
            p.quantity = 1
            p.purchase_amount = Decimal(rng.randrange(low, high + 1, 100))
            p.bought_days = bought_days
            if problem.category.startswith("quality") or problem.unit == seeds.QA:
                p.lot = (lot_prefix, rng.randint(20, 90), rng.choice("ABCD"), rng.randint(1, 30))

    def _store(self, unit: Any) -> str:
        name = self._stores.get(unit.pk)
        if name is None:
            name = self._stores[unit.pk] = fixed(unit.name, 100)
        return name

    def _real(self, p: Plan, salutation: str, city: sources.City) -> None:
        """A real Chinese complaint (the message board's records), with its real reply."""
        record = self.rng.choice(self.texts.chinese)
        p.summary = record.summary
        described(p, OPENINGS.get(p.channel, "客户反映："), record.description)
        p.reply = record.reply or fixed(
            f"{salutation or '您'}好：关于您反映的“{record.summary}”，经核实，我们已责成相关部门处理，"
            "处理结果将及时告知您。感谢您的监督与支持。")
        self._no_product(p, city)

    def _english(self, p: Plan) -> None:
        """A foreign customer's complaint, in English (the CFPB records)."""
        record = self.rng.choice(self.texts.english)
        p.summary, p.reply = record.summary, record.reply
        described(p, record.description)
        p.channel = self.rng.choice([Channel.EMAIL.value, Channel.EMAIL.value, Channel.WEB.value,
                                     Channel.PHONE.value])
        self._no_product(p, sources.CITIES[1])

    def _no_product(self, p: Plan, city: sources.City) -> None:
        p.intake_category = None
        p.product = p.order_number = ""
        p.quantity = p.purchase_amount = None
        p.store, p.region = self._store(p.unit), city.district
        if self.rng.random() < 0.5:
            p.demand, p.demand_detail = "other", seeds.DEMAND_DETAILS["other"]
        else:
            p.demand, p.demand_detail = "", ""

    def _follow_up(self, p: Plan, base: Plan) -> None:
        """The same customer about the same matter again (R-IN-7's repeat complaint)."""
        p.base = base
        p.channel = Channel.PHONE.value if self.rng.random() < 0.7 else base.channel
        for name in ("product", "order_number", "quantity", "store", "region", "purchase_amount",
                     "demand", "demand_detail", "intake_category", "reply"):
            setattr(p, name, getattr(base, name))
        if p.foreign:
            p.summary = fixed(f"Follow-up: {base.summary}", 200)
            described(p, f"I already complained about “{base.summary}” and it is still not resolved. "
                         "This is my second complaint; please solve it now.")
        else:
            p.summary = fixed(f"{base.summary}，问题还是没解决", 200)
            middle = ("上次反映后到现在还没有彻底解决，", f"订单号{base.order_number}。") if base.order_number \
                else ("上次反映后到现在还没有彻底解决。",)
            described(p, "客户再次反映：", f"{base.summary}的问题，", *middle, "已经是第二次投诉了，要求尽快彻底解决。")

    # --- 2. levels, categories, repeats -----------------------------------------------------

    def _classify(self, cluster: Cluster) -> None:
        """R-CL-2…R-CL-4 and R-IN-7 as ``actions._register`` applies them, in registration order."""
        earlier: list[Plan] = []
        for p in sorted(cluster.plans, key=lambda q: (q.rel_registered(), q.idx)):
            # suggest(f"{summary} {description} {product} {demand_detail}")
            category, level, matched = self.rules.suggest_for(p.summary, p.parts, p.product, p.demand_detail)
            p.suggested_category, p.suggested_level, p.matched = category, level, matched
            chosen = self.categories.get(p.intake_category) if p.intake_category else None
            p.category = chosen or category or self.other
            p.repeat_of = self._find_repeat(p, earlier) if p.phone else None
            lvl = p.intake_level or level or 1
            reasons = []
            if p.category.default_level > lvl:
                lvl = p.category.default_level
                reasons.append("category")
            if p.channel in LEVEL_3 and lvl < 3:
                lvl = 3
                reasons.append("channel")
            if p.repeat_of is not None and lvl < 2:
                lvl = 2
                reasons.append("repeat")
            p.level, p.reasons = lvl, reasons
            # Routes are looked up now: the worker that writes the rows must not query.
            self.org.nearest(p.unit, handler_tier(lvl))
            reviewer = self.org.nearest(p.unit, review_tier(lvl))
            if p.status == CLOSED and reviewer is None:
                p.status = Status.REPLIED.value  # nobody of the reviewer's tier: it cannot close
            p.policies = self.policies(lvl, p.category, p.channel, p.foreign)
            p.open_rows = self._open_rows(p)
            earlier.append(p)

    def _find_repeat(self, p: Plan, earlier: list[Plan]) -> Plan | None:
        """``actions._find_repeat`` over the customer's earlier registrations."""
        if not earlier:
            return None
        received = p.rel_received()
        found = [q for q in earlier if received - REPEAT_WINDOW <= q.rel_received() <= received]
        # order_by("-received_at", "-id"): ids follow registration order.
        found.sort(key=lambda q: (q.rel_received(), q.rel_registered(), q.idx), reverse=True)
        for q in found[:50]:
            if p.order_number and q.order_number == p.order_number:
                return q
            if p.product and q.product == p.product:
                return q
            if _similarity(p.text, q.text) >= REPEAT_SIMILARITY:
                return q
        return None

    def _open_rows(self, p: Plan) -> int:
        """How many of the complaint's deadline rows are open once it has reached its state."""
        kinds = row_kinds(p.policies, p.channel)
        if p.status == CLOSED:
            return 0
        if p.status == Status.REPLIED.value:
            return sum(k in (K.CLOSE, K.PLATFORM_RESULT) for k in kinds)
        if p.status == Status.REGISTERED.value:
            return len(kinds)
        return sum(k != K.FIRST_CONTACT for k in kinds)

    # --- 3. due selection and time -----------------------------------------------------------

    def place(self, clusters: list[Cluster], now: datetime | None = None) -> datetime:
        """Choose the due customers, put every customer in time and return the sweep time T."""
        rng = self.rng
        self.open_rows = sum(c.open_rows for c in clusters)
        target = round(self.due_fraction * self.open_rows)
        candidates = [c for c in clusters if c.open_rows]
        rng.shuffle(candidates)
        remaining = target
        for c in candidates:
            if remaining == 0:
                break
            if c.open_rows <= remaining:
                c.group = "due"
                remaining -= c.open_rows
        self.due_rows = target - remaining
        sizes: Counter[str] = Counter()
        for c in clusters:
            if not c.group:
                c.group = "recent" if any(p.status != CLOSED for p in c.plans) else "past"
            sizes[c.group] += len(c.plans)
        local_now = (now or timezone.now()).astimezone(SH)
        today = local_now.date()
        per_day = MONTH_TARGET / 30.44
        recent_days = max(120, math.ceil(sizes["recent"] / per_day))
        due_days = max(35, math.ceil(sizes["due"] / per_day))
        # Closed customers spread thin over a longer history, leaving room in recent months.
        past_days = max(365, recent_days + due_days + 90, math.ceil(sizes["past"] / (per_day * 0.35)))
        existing = dict(NumberSequence.objects.values_list("month", "last"))
        for _attempt in range(12):
            t_day = today - timedelta(days=recent_days + 1)
            sweep_at = datetime.combine(t_day, datetime.min.time(), tzinfo=SH) + timedelta(hours=12)
            for c in clusters:
                if c.group == "due":
                    latest = t_day - timedelta(days=DUE_GAP + c.last_day)
                    c.anchor = latest - timedelta(days=rng.randint(0, due_days))
                elif c.group == "recent":
                    room = max(0, recent_days - c.span - 1)
                    c.anchor = t_day + timedelta(days=1 + rng.randint(0, room))
                else:
                    c.anchor = today - timedelta(days=c.span + 1 + rng.randint(0, past_days))
                self._absolute(c)
            months = Counter(_month(p.registered) for c in clusters for p in c.plans)
            full = {m: n for m, n in months.items() if n + existing.get(m, 0) > MONTH_CAPACITY}
            if not full:
                break
            recent_days, due_days, past_days = (int(d * 1.3) + 1 for d in (recent_days, due_days, past_days))
        else:
            raise RuntimeError(f"cannot fit the complaints under {MONTH_CAPACITY:,} a month: "
                               f"{sorted(full.items())[:3]}")
        self.months = len(months)
        # A due customer whose slowest limit (10 working days over a Golden Week, say) is not
        # yet due at T moves earlier until it is.
        for c in clusters:
            if c.group != "due":
                continue
            for _ in range(20):
                late = max((d for p in c.plans if p.open_rows
                            for d in [latest_due(p, org=self.org)] if d is not None), default=None)
                if late is None or late <= sweep_at:
                    break
                c.anchor -= timedelta(days=(late - sweep_at).days + 1)
                self._absolute(c)
            else:
                raise RuntimeError("could not make a due customer's limits due at T")
        return sweep_at.astimezone(UTC)

    def _absolute(self, c: Cluster) -> None:
        assert c.anchor is not None
        midnight = datetime.combine(c.anchor, datetime.min.time(), tzinfo=SH)
        for p in c.plans:
            p.received = (midnight + p.rel_received()).astimezone(UTC)
            p.registered = p.received + p.paper_delay


def _similarity(a: str, b: str) -> float:
    """``kesu.lib.text.similarity`` (Dice over the bigram sets) with the faster tokenizer."""
    sa, sb = set(fasttext.tokens(a)), set(fasttext.tokens(b))
    if not sa or not sb:
        return 0.0
    return 2 * len(sa & sb) / (len(sa) + len(sb))


def _month(t: datetime) -> str:
    return t.astimezone(SH).strftime("%Y%m")


def number_plans(clusters: list[Cluster], *, first_ids: dict[str, int]) -> list[Plan]:
    """All plans in registration order with their numbers (continuing each month's sequence),
    complaint ids and customer ids."""
    plans = sorted((p for c in clusters for p in c.plans), key=lambda p: (p.registered, p.idx))
    existing = dict(NumberSequence.objects.values_list("month", "last"))
    serials: dict[str, int] = {}
    customers: dict[str, int] = {}
    next_customer = first_ids["customer"]
    for i, p in enumerate(plans):
        month = _month(p.registered)
        serials[month] = serials.get(month, existing.get(month, 0)) + 1
        p.number = f"TS{month}{serials[month]:05d}"
        p.id = first_ids["complaint"] + i
        if p.phone:
            if p.phone not in customers:
                customers[p.phone] = next_customer
                next_customer += 1
            p.customer_id = customers[p.phone]
    return plans
