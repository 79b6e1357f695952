"""The CAPA pages: the list (open, mine, to confirm) and one CAPA with its causes, actions and
history, where owners report their actions done and QA confirms their effect (R-IV-3, R-IV-4).
The complaint page's investigation and CAPA steps are ``kesu.workbench.dispatch``'s."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kesu.lib.errors import DomainError, Forbidden, NotFound
from kesu.org.directory import signature_of
from kesu.org.models import Role, User
from kesu.workbench.render import QUICK
from kesu.workbench.views import _frame

from . import actions, read
from .forms import ActionForm, DoneForm, VerifyForm
from .models import ActionState, Capa, CapaAction

FILTERS: dict[str, dict[str, Any]] = {
    "open": {"state": "open"},
    "mine": {"state": "open", "mine": True},
    "to_verify": {"state": "open", "to_verify": True},
    "closed": {"state": "closed"},
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def capa_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    shown = request.GET.get("show", "open")
    if shown not in FILTERS:
        shown = "open"
    rows = [read.capa_dict(c) for c in read.capa_list(user, **FILTERS[shown])]
    for r in rows:
        r["done"] = sum(a["state"] == ActionState.CLOSED for a in r["actions"])
        r["overdue"] = sum(a["overdue"] for a in r["actions"])
    tabs = [("open", _("Open")), ("mine", _("My actions")), ("to_verify", _("Effect to confirm")),
            ("closed", _("Closed"))]
    return render(request, "quality/capa_list.html",
                  {**_frame(request, timezone.now()), "rows": rows, "tabs": tabs, "shown": shown})


def _load(request: HttpRequest, number: str) -> Capa:
    try:
        return read.visible_capa(_user(request), number)
    except NotFound:
        raise Http404(number) from None


def _may_do(user: User, action: CapaAction) -> bool:
    return not user.is_read_only and (action.owner_id == user.pk or user.tier >= 2)


def _may_verify(user: User, action: CapaAction) -> bool:
    return not user.is_read_only and user.role == Role.QA and action.owner_id != user.pk


def _page(request: HttpRequest, capa: Capa, bound: tuple[str, int | None, Any] | None = None,
          status: int = 200) -> HttpResponse:
    """The CAPA page; ``bound`` is (form name, action id, form) to show again with its errors."""
    user = _user(request)
    detail = read.capa_dict(capa, events=True)
    rows = []
    for action, shown in zip(capa.actions.all(), detail["actions"], strict=True):
        done = verify = None
        if action.state == ActionState.OPEN and _may_do(user, action):
            done = bound[2] if bound and bound[:2] == ("done", action.pk) else DoneForm(prefix=f"done{action.pk}",
                                                                                       renderer=QUICK)
        if action.state == ActionState.DONE and _may_verify(user, action):
            verify = bound[2] if bound and bound[:2] == ("verify", action.pk) else VerifyForm(
                prefix=f"verify{action.pk}", renderer=QUICK)
        rows.append({**shown, "done_form": done, "verify_form": verify})
    add = None
    if capa.closed_at is None and actions._may_manage(user, capa):
        add = bound[2] if bound and bound[0] == "add" else ActionForm(prefix="add", renderer=QUICK,
                                                                      signature=signature_of(user))
    return render(request, "quality/capa.html", {**_frame(request, timezone.now()), "capa": detail, "rows": rows,
                                                 "add_form": add}, status=status)


@login_required
def capa_page(request: HttpRequest, number: str) -> HttpResponse:
    return _page(request, _load(request, number))


def _action(capa: Capa, action_id: int) -> CapaAction:
    for a in capa.actions.all():
        if a.pk == action_id:
            a.capa = capa
            return a
    raise Http404(str(action_id))


def _run(request: HttpRequest, capa: Capa, name: str, action_id: int | None, form: Any, call: Any) -> HttpResponse:
    """Validate the form and call the action; on a refusal show the page again with the input
    kept and the message on the form (422), a conflict as 409."""
    if form.is_valid():
        try:
            call(form)
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from None
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            return _page(request, _load(request, capa.number), (name, action_id, form), status=exc.status)
        messages.success(request, _("Saved."))
        return redirect("quality:capa", number=capa.number)
    return _page(request, capa, (name, action_id, form), status=422)


# The forms of one action on the CAPA page: their prefix and the action they call.
ACTION_FORMS: dict[str, tuple[type, Any]] = {
    "done": (DoneForm, lambda a, user, d: actions.complete_action(a, by=user, result=d["result"])),
    "verify": (VerifyForm, lambda a, user, d: actions.verify_action(a, by=user, effective=d["effective"],
                                                                   note=d["note"])),
}


def _on_action(request: HttpRequest, number: str, action_id: int, name: str) -> HttpResponse:
    capa = _load(request, number)
    action = _action(capa, action_id)
    form_class, call = ACTION_FORMS[name]
    form = form_class(request.POST, prefix=f"{name}{action_id}", renderer=QUICK)
    return _run(request, capa, name, action_id, form, lambda f: call(action, _user(request), f.cleaned_data))


@login_required
@require_POST
def action_done(request: HttpRequest, number: str, action_id: int) -> HttpResponse:
    """The owner reports the action done."""
    return _on_action(request, number, action_id, "done")


@login_required
@require_POST
def action_verify(request: HttpRequest, number: str, action_id: int) -> HttpResponse:
    """QA confirms the effect, or sends the action back (R-IV-4)."""
    return _on_action(request, number, action_id, "verify")


@login_required
@require_POST
def add_action(request: HttpRequest, number: str) -> HttpResponse:
    capa = _load(request, number)
    form = ActionForm(request.POST, prefix="add", renderer=QUICK, signature=signature_of(_user(request)))
    return _run(request, capa, "add", None, form,
                lambda f: actions.add_action(capa, by=_user(request), action=f.planned()))
