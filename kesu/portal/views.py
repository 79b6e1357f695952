"""The customers' pages at /portal/ (mobile first, Simplified Chinese by default, English by the
language switch). Thin: parse the form, check the limits, call one action, render. CSRF
protection is Django's middleware; every form carries the token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kesu.followups import actions as followups
from kesu.followups.models import Satisfaction
from kesu.lib.errors import DomainError

from . import actions, captcha, throttle
from .forms import LookupForm, SubmitForm, SurveyForm
from .progress import progress

SESSION_SUBMITTED = "portal_submitted"


def _captcha(form: Any, ip: str) -> dict[str, Any] | None:
    """A fresh challenge when this client has failed too often (shown with the form)."""
    if not throttle.captcha_needed(ip):
        return None
    challenge = captcha.new_challenge()
    form.initial["captcha_key"] = challenge["key"]
    if form.is_bound:
        data = form.data.copy()
        data["captcha_key"], data["captcha_answer"] = challenge["key"], ""
        form.data = data
    return challenge


def _captcha_ok(form: Any, ip: str) -> bool:
    if not throttle.captcha_needed(ip):
        return True
    if captcha.solved(form.data.get("captcha_key", ""), form.data.get("captcha_answer", "")):
        return True
    form.add_error("captcha_answer", _("Please type the characters shown in the picture."))
    return False


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    ip = throttle.client_ip(request)
    if request.method == "GET":
        return _submit_page(request, SubmitForm(), ip)
    # Refuse an oversized request before Django spools its files to disk.
    limit = settings.KESU_PORTAL_MAX_PHOTOS * settings.KESU_PORTAL_MAX_PHOTO_BYTES + 1024 * 1024
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        throttle.note_failure(ip)
        banner = (_("The photos are too large together: at most %(n)d photos of %(size)s each.")
                  % {"n": settings.KESU_PORTAL_MAX_PHOTOS,
                     "size": filesizeformat(settings.KESU_PORTAL_MAX_PHOTO_BYTES)})
        return _submit_page(request, SubmitForm(), ip, 413, banner=banner)
    form = SubmitForm(request.POST, request.FILES)
    status = 422
    try:
        throttle.check_submit(ip, request.POST.get("contact_phone", "").strip())
        if form.is_valid() and _captcha_ok(form, ip):
            d = form.cleaned_data
            sub = actions.Submission(**{k: d[k] for k in (
                "customer_name", "anonymous", "contact_phone", "email", "product", "order_number", "lot_number",
                "description", "demand", "demand_detail")})
            done = actions.submit(sub, photos=d["photos"])
            throttle.submitted(ip, done.complaint.contact_phone)
            request.session[SESSION_SUBMITTED] = {"number": done.complaint.number, "code": done.lookup_code,
                                                  "contact": bool(done.complaint.contact_phone
                                                                  or done.complaint.other_contact)}
            return redirect("portal:submitted")
        throttle.note_failure(ip)
    except throttle.Throttled as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        status = 429
    except DomainError as exc:
        throttle.note_failure(ip)
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
    return _submit_page(request, form, ip, status)


def _submit_page(request: HttpRequest, form: SubmitForm, ip: str, status: int = 200, banner: str = "") -> HttpResponse:
    return render(request, "portal/submit.html", {"form": form, "captcha": _captcha(form, ip), "banner": banner,
                                                  "max_photos": settings.KESU_PORTAL_MAX_PHOTOS}, status=status)


def submitted(request: HttpRequest) -> HttpResponse:
    """R-IN-6: the number and lookup code, shown once (they are also sent by SMS/email)."""
    done = request.session.pop(SESSION_SUBMITTED, None)
    if done is None:
        return redirect("portal:lookup")
    return render(request, "portal/submitted.html", {"done": done})


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """R-AX-3: number + lookup code → the complaint's progress. POST, so the code is in no URL
    or access log; wrong codes are counted per client and per number."""
    ip = throttle.client_ip(request)
    if request.method == "GET":
        form = LookupForm(initial={"number": request.GET.get("number", "")[:20]})
        return render(request, "portal/lookup.html", {"form": form, "captcha": _captcha(form, ip)})
    form = LookupForm(request.POST)
    status = 422
    if form.is_valid():
        number, code = form.cleaned_data["number"], form.cleaned_data["code"]
        try:
            throttle.check_lookup(ip, number)
            if _captcha_ok(form, ip):
                complaint = actions.find(number, code)
                if complaint is not None:
                    return render(request, "portal/progress.html", {"p": progress(complaint)})
                throttle.lookup_failed(ip, number)
                form.add_error("code", _("The number and lookup code do not match. Please check both."))
        except throttle.Throttled as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            status = 429
    return render(request, "portal/lookup.html", {"form": form, "captcha": _captcha(form, ip)}, status=status)


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """R-FU-5: the question and the complaint number, nothing else; one answer per link."""
    now = timezone.now()
    try:
        question = followups.survey_question(token, now=now)
    except DomainError as exc:
        return render(request, "portal/survey_closed.html", {"message": exc.message}, status=exc.status)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = followups.answer_survey(token, satisfaction=form.cleaned_data["satisfaction"],
                                              comment=form.cleaned_data["comment"], now=now)
        except DomainError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
            else:
                return render(request, "portal/survey_closed.html", {"message": exc.message}, status=exc.status)
        else:
            return render(request, "portal/survey_done.html", {
                "number": question.number, "word": Satisfaction(outcome.visit.satisfaction).label,
                "reopened": outcome.reopened})
    return render(request, "portal/survey.html", {"form": form, "q": question},
                  status=422 if form.is_bound else 200)
