"""The handlers' workbench pages (工作台). Mirrors ``complaints/api.py``: the same queries and
actions, HTML instead of JSON. HTMX requests (``_is_htmx``) get the ``partials/_*.html``
fragment that the full page also includes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kesu import replica
from kesu.comms import phrases, scripts
from kesu.complaints import actions, present, queries
from kesu.complaints.classification import suggest as suggest_classification
from kesu.complaints.models import Complaint, Status, allowed_actions
from kesu.lib.errors import DomainError, Forbidden, Invalid, NotFound
from kesu.lib.phones import InvalidPhone, normalize_phone
from kesu.org.directory import seen_by, signature_of
from kesu.org.models import User
from kesu.quality import read as quality_read

from . import conflict, queues
from .dispatch import STEPS, Step, build
from .forms import QueueFilterForm, RegisterForm
from .render import QUICK
from .session_cache import forget, kept

PAGE_SIZE = 50
BADGE_CAP = 99
BADGE_TTL = 30  # seconds a queue badge may lag behind other users' changes
BADGE_SESSION_KEY = "workbench.badges"
REPEAT_WINDOW = timedelta(days=30)  # R-IN-7: a complaint from the same phone within 30 days
NUMBER = re.compile(r"TS\d{6,11}", re.IGNORECASE)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _frame(request: HttpRequest, now: datetime, current: str = "") -> dict[str, Any]:
    """The navigation: the user's queues with capped counts. The user facts come from
    ``context.header``."""
    counts = _badge_counts(request, _user(request), now)
    nav = []
    for q in queues.for_user(_user(request)):
        n = counts.get(q.name, 0)
        nav.append({"name": q.name, "label": q.label, "count": f"{BADGE_CAP}+" if n > BADGE_CAP else str(n),
                    "current": q.name == current})
    return {"nav": nav}


def _badge_counts(request: HttpRequest, user: User, now: datetime) -> dict[str, int]:
    """Queue name → count, at most ``BADGE_CAP + 1`` (one LIMITed count per queue, never a
    COUNT(*) over the table), kept in the session for ``BADGE_TTL`` seconds.

    Why kept: at a million complaints the review, due-soon and overdue badges cost 5–60 ms of
    SQL each (they read thousands of rows to find the newest hundred), more than the rest of
    a page together, and a badge is a hint, not the list. In the session, not a process cache,
    so every web worker sees the same numbers and ``forget_badges`` after the user's own
    change takes effect on whichever worker serves the next page."""
    def count() -> dict[str, int]:
        with replica.reads():
            return {q.name: q.count(user, now, BADGE_CAP) for q in queues.for_user(user)}

    return kept(request, BADGE_SESSION_KEY, ttl=BADGE_TTL, tag=f"{user.pk}:{BADGE_CAP}", make=count)


def forget_badges(request: HttpRequest) -> None:
    """After the user changed something: their next page counts the queues again."""
    forget(request, BADGE_SESSION_KEY)


def _access(request: HttpRequest, number: str) -> Complaint:
    try:
        return queries.access_complaint(_user(request), number)
    except NotFound:
        raise Http404(number) from None


# --- queues ------------------------------------------------------------------------------------


def _paths(viewname: str, *fixed: str) -> Any:
    """last argument → the view's path, reversing the URL once per page rather than once a row
    or a step. The arguments are numbers and action names: nothing to quote."""
    marker = "x-marker"
    before, after = reverse(viewname, args=[*fixed, marker]).split(marker)
    return lambda last: f"{before}{last}{after}"


def _complaint_link() -> Any:
    """number → the complaint page's path."""
    return _paths("workbench:complaint")


def _rows(complaints: list[Complaint], user: User) -> list[dict[str, Any]]:
    """``present.list_item`` with the page link and the received time as text. Done here, not
    with ``{% url %}`` and ``|date`` in the template: those two cost 0.13 ms a row, half the
    rendering of a 50-row queue page. Same text: "Y-m-d H:i" in the current time zone."""
    link = _complaint_link()
    out = []
    for c in complaints:
        row = present.list_item(c, user)
        row["url"] = link(row["number"])
        row["received"] = timezone.localtime(row["received_at"]).strftime("%Y-%m-%d %H:%M")
        out.append(row)
    return out


def _search(qs: Any, q: str, now: datetime) -> Any:
    """One box for a number, a phone or Chinese text, in that order of precedence."""
    q = q.strip()
    if NUMBER.fullmatch(q):
        return qs.filter(number__startswith=q.upper())
    try:
        return qs.filter(contact_phone=normalize_phone(q))
    except InvalidPhone:
        return queries.filter_complaints(qs, now=now, q=q)


@login_required
def queue(request: HttpRequest, name: str = "mine") -> HttpResponse:
    user, now = _user(request), timezone.now()
    chosen = queues.BY_NAME.get(name)
    if chosen is None or not chosen.shown_to(user):
        raise Http404(name)
    form = QueueFilterForm(request.GET or None, renderer=QUICK, signature=signature_of(user))
    qs = chosen.query(user, now)
    error = ""
    # A queue may be a moment old: its rows come from the read replica when there is one.
    with replica.reads():
        if form.is_bound and form.is_valid():
            try:
                qs = queries.filter_complaints(qs, now=now, **form.filters())
                if form.cleaned_data["q"]:
                    qs = _search(qs, form.cleaned_data["q"], now)
                page = queries.keyset_page(qs, request.GET.get("cursor"), PAGE_SIZE,
                                           form.cleaned_data["sort"] or "-id", known=seen_by(user))
            except Invalid as exc:
                error, page = str(exc.message), queries.Page([], None)
        elif form.is_bound:
            page = queries.Page([], None)
        else:
            page = queries.keyset_page(qs, request.GET.get("cursor"), PAGE_SIZE, known=seen_by(user))
    params = request.GET.copy()
    params.pop("cursor", None)
    if page.next_cursor:
        params["cursor"] = page.next_cursor
    ctx = {"queue": chosen, "form": form, "error": error, "rows": _rows(page.rows, user),
           "next_query": params.urlencode() if page.next_cursor else ""}
    if _is_htmx(request):
        return render(request, "workbench/partials/_rows.html", ctx)
    return render(request, "workbench/queue.html", {**_frame(request, now, name), **ctx})


# --- quick registration --------------------------------------------------------------------


def _history(user: User, raw_phone: str, now: datetime, exclude: int | None = None) -> dict[str, Any]:
    """Earlier complaints from this phone that the user may see, newest first; ``repeat`` when
    one was received within the last 30 days (R-IN-7). Only what ``_history.html`` shows, read
    from the complaint table alone (no category, unit or people joins)."""
    try:
        phone = normalize_phone(raw_phone)
    except InvalidPhone:
        return {"history": [], "repeat": False, "phone_given": bool(raw_phone.strip())}
    qs = queries.visible_to(user).filter(contact_phone=phone)
    if exclude:
        qs = qs.exclude(pk=exclude)
    rows = list(qs.order_by("-id").values("number", "received_at", "status", "summary")[:10])
    link = _complaint_link()
    history = [{**r, "url": link(r["number"]), "status_label": present.choice_label(Status, r["status"])}
               for r in rows]
    return {"history": history, "repeat": any(r["received_at"] >= now - REPEAT_WINDOW for r in rows),
            "phone_given": True}


@login_required
def register(request: HttpRequest) -> HttpResponse:
    user, now = _user(request), timezone.now()
    form = RegisterForm(request.POST or None, signature=signature_of(user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            intake = actions.Intake(
                channel=d["channel"], summary=d["summary"], customer_name=d["customer_name"],
                anonymous=d["anonymous"], contact_phone=d["contact_phone"], description=d["description"],
                product=d["product"], order_number=d["order_number"], category=d["category"] or None,
                level=d["level"],
            )
            try:
                complaint = actions.register(intake, by=user, now=now).complaint
            except (Invalid, Forbidden) as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                forget_badges(request)
                # Rendered, not redirected: the lookup code exists only on this object (only its
                # hash is stored), so this response is the one chance to read it out.
                return render(request, "workbench/registered.html", {
                    **_frame(request, now), "c": present.list_item(complaint, user),
                    "lookup_code": getattr(complaint, "lookup_code", None)})
        status = 422
    ctx = {**_frame(request, now, "register"), "form": form,
           **_history(user, form["contact_phone"].value() or "", now)}
    return render(request, "workbench/register.html", ctx, status=status)


@login_required
def register_suggest(request: HttpRequest) -> HttpResponse:
    """R-CL-2: the category and level fields, prefilled from the keyword rules unless the clerk
    has already chosen them."""
    text = " ".join(request.GET.get(k, "") for k in ("summary", "description"))
    signature = signature_of(_user(request))
    s = suggest_classification(text, signature=signature)
    form = RegisterForm(initial={
        "category": request.GET.get("category") or (s.category.code if s.category else ""),
        "level": request.GET.get("level") or s.level or ""}, signature=signature)
    return render(request, "workbench/partials/_classification.html", {"form": form, "matched": s.matched})


@login_required
def register_history(request: HttpRequest) -> HttpResponse:
    ctx = _history(_user(request), request.GET.get("contact_phone", ""), timezone.now())
    return render(request, "workbench/partials/_history.html", ctx)


# --- the complaint page -----------------------------------------------------------------------


# Steps whose free text is said or written to the customer get the script library beside
# that box (R-CM-1): the form's customer-facing field, or the note of a step taken during a call.
SCRIPT_BOX = {"accept": "note", "promise": "note", "start_follow_up": "note", "record_follow_up": "notes"}
MAX_CHECK = 5000  # characters checked as the handler types; the action checks the whole text
# Actions that only append to the timeline (no field changes): like the API, they take no
# version, so a colleague's change never makes a half-typed note or message stale.
APPEND_ONLY = frozenset({"note", "message", "attach"})


def _visible_steps(complaint: Complaint, user: User) -> list[tuple[str, Step]]:
    """The workflow actions the user may take now: ``present.actions_for`` (the workflow table
    and the permissions) narrowed by a step's own ``shown`` check; only those with a page form."""
    out = []
    for name in present.actions_for(user, complaint):
        step = STEPS.get(name)
        if step is None or (step.shown is not None and not step.shown(complaint, user)):
            continue
        out.append((name, step))
    return out


def _script_box(name: str, form: Any) -> str | None:
    fields = getattr(form, "customer_fields", ())
    box = fields[0] if fields else SCRIPT_BOX.get(name)
    return box if box in form.fields else None


def _fields(form: Any, customer: tuple[str, ...], script_box: str | None) -> list[tuple[Any, bool, bool, bool]]:
    """(bound field, is a checkbox, gets the phrase-check hits box, gets the script library)
    for each field of a step form, decided here: the template language takes ten times as long
    for the same lookups and comparisons, over some fifty fields on an open complaint."""
    return [(bf, getattr(bf.field.widget, "input_type", None) == "checkbox", bf.name in customer, bf.name == script_box)
            for bf in form]


def _complaint_context(request: HttpRequest, complaint: Complaint, now: datetime,
                       bound: tuple[str, Any] | None = None, seen_event: int | None = None) -> dict[str, Any]:
    """Everything complaint.html shows. ``bound`` is (action, form) to show again with the
    user's input and errors; ``seen_event`` the last event the user had seen, so a conflict
    can list what happened since (R-WF-4)."""
    user = _user(request)
    detail = present.detail(complaint, user)
    for d in detail["deadlines"]:
        d["remaining"] = d["due_at"] - now
    events = [present.event_row(e) for e in complaint.events.select_related("actor").order_by("id")]
    values = library_rows = None
    steps = []
    link = _paths("workbench:act", complaint.number)  # action → the path its form posts to
    for name, step in _visible_steps(complaint, user):
        form = bound[1] if bound and bound[0] == name else build(name, step, complaint, user)
        box = _script_box(name, form)
        library = []
        if box:
            values = values if values is not None else scripts.context_for(complaint, user)
            library_rows = library_rows if library_rows is not None else scripts.active_scripts()
            library = [{"situation_label": r.situation_label, "title": r.title, "text": r.text,
                        "aria_label": _("Insert “%(title)s”") % {"title": r.title}}
                       for r in scripts.for_complaint(complaint, action=name, values=values, library=library_rows)]
        steps.append({"name": name, "label": step.label, "form": form, "open": bool(bound and bound[0] == name),
                      "multipart": step.multipart, "action": link(name),
                      "fields": _fields(form, getattr(form, "customer_fields", ()), box if library else None),
                      "scripts": library})
    if bound is not None and not any(s["name"] == bound[0] for s in steps):
        # After a conflict the action may no longer be offered; the user's input is still shown.
        name, form = bound
        step = STEPS[name]
        steps.insert(0, {"name": name, "label": step.label, "form": form, "open": True, "multipart": step.multipart,
                         "action": link(name), "fields": _fields(form, (), None), "scripts": []})
    changed = [e for e in events if seen_event is not None and e["id"] > seen_event]
    found = quality_read.investigation(complaint)
    return {
        **_frame(request, now), "c": detail, "events": events, "steps": steps, "changed": changed,
        "investigation": quality_read.investigation_dict(found, complaint) if found else None,
        "capas": [quality_read.capa_dict(x) for x in quality_read.capas_of(complaint)],
        "changed_fields": conflict.changed_fields(complaint, seen_event) if seen_event is not None else [],
        "last_event": events[-1]["id"] if events else 0,
        "customer": _history(user, complaint.contact_phone, now, exclude=complaint.pk) if complaint.contact_phone
        else {"history": [], "repeat": False},
        "can_reveal": not complaint.anonymous and bool(complaint.contact_phone or complaint.address),
    }


@login_required
def complaint_page(request: HttpRequest, number: str) -> HttpResponse:
    complaint = _access(request, number)
    return render(request, "workbench/complaint.html", _complaint_context(request, complaint, timezone.now()))


def _may_take(complaint: Complaint, user: User, action: str, step: Step) -> bool:
    """False when the workflow would allow the action now but this user may not take it (a
    403). An action the state does not allow is left to the action, which explains why."""
    if action not in allowed_actions(complaint.status):
        return True
    return any(name == action for name, _step in _visible_steps(complaint, user))


@login_required
@require_POST
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """One workflow action from its form: check the version the user saw (R-WF-4), call the
    action, and go back to the page. On a conflict or a refusal the page is shown again with
    the user's input kept and the message next to the form; an action the user may not take
    is a 403 and changes nothing."""
    user, now = _user(request), timezone.now()
    step = STEPS.get(action)
    if step is None:
        raise Http404(action)
    complaint = _access(request, number)
    version = _int(request.POST.get("version"))
    stale = version != complaint.version and action not in APPEND_ONLY
    if not stale and not _may_take(complaint, user, action, step):
        raise PermissionDenied(_("You are not allowed to do this to the complaint."))
    form = build(action, step, complaint, user, request.POST, request.FILES)
    seen = _int(request.POST.get("seen_event"))
    conflict = False
    if stale:
        conflict = True
        form.is_valid()  # errors shown with the kept input, but nothing is called
    elif form.is_valid():
        try:
            step.call(complaint, user, form.cleaned_data)
        except actions.ConcurrentChange:
            conflict = True
            complaint = _access(request, number)
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from None
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            forget_badges(request)
            messages.success(request, _("Done: %(action)s.") % {"action": step.label})
            return redirect("workbench:complaint", number=number)
    ctx = _complaint_context(request, complaint, now, bound=(action, form),
                             seen_event=(seen or 0) if conflict else None)
    ctx["conflict"] = conflict
    return render(request, "workbench/complaint.html", ctx, status=409 if conflict else 422)


@login_required
@require_POST
def phrase_check(request: HttpRequest) -> HttpResponse:
    """R-CM-2 as the handler types (htmx): the forbidden phrases in the posted text box
    (``field`` names it), shown next to it before anything is sent."""
    field = request.POST.get("field", "")
    text = request.POST.get(field, "") if field and field != "csrfmiddlewaretoken" else request.POST.get("text", "")
    hits = phrases.check(text[:MAX_CHECK])
    override = field.rsplit("-", 1)[0] + "-override_reason" if "-" in field else ""
    return render(request, "workbench/partials/_phrase_hits.html", {"hits": hits, "override": override})


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@login_required
@require_POST
def reveal_contact(request: HttpRequest, number: str) -> HttpResponse:
    """R-AX-2: the full contact, logged on the timeline by the action."""
    complaint = _access(request, number)
    try:
        contact = actions.reveal_contact(complaint, by=_user(request))
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from None
    if _is_htmx(request):
        return render(request, "workbench/partials/_contact.html", {"contact": contact})
    # Without JavaScript the whole page comes back with the contact shown in the card.
    ctx = _complaint_context(request, complaint, timezone.now())
    return render(request, "workbench/complaint.html", {**ctx, "contact": contact})
