"""Page forms: they check the shape of the input only. Rules that depend on stored state are
the actions' (they raise Invalid with the field's name, which the views put on the form)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kesu.complaints.models import Category, Channel, Level, Status
from kesu.org.models import Unit


def _categories() -> list[tuple[str, str]]:
    return [("", "—")] + [(c.code, c.label) for c in Category.objects.filter(active=True).order_by("sort", "pk")]


def _units() -> list[tuple[str, str]]:
    return [("", "—")] + [(u.code, u.name) for u in Unit.objects.filter(active=True).order_by("path")]


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        help_text=_("Number, phone or words"))
    state = forms.MultipleChoiceField(label=_("State"), required=False, choices=Status.choices)
    level = forms.TypedMultipleChoiceField(label=_("Level"), required=False, choices=Level.choices, coerce=int)
    category = forms.ChoiceField(label=_("Category"), required=False)
    channel = forms.MultipleChoiceField(label=_("Channel"), required=False, choices=Channel.choices)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    received_from = forms.DateField(label=_("Received from"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(label=_("Received until"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _categories()
        self.fields["unit"].choices = _units()

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``queries.filter_complaints``; dates become local-day bounds
        (received_to includes the whole day)."""
        d = self.cleaned_data
        out: dict[str, Any] = {k: d.get(k) or None for k in ("state", "level", "category", "channel", "unit")}
        if d.get("received_from"):
            out["received_from"] = timezone.make_aware(datetime.combine(d["received_from"], time.min))
        if d.get("received_to"):
            out["received_to"] = timezone.make_aware(datetime.combine(d["received_to"] + timedelta(days=1), time.min))
        return out


class RegisterForm(forms.Form):
    """Quick registration of a phone call or a visit (R-IN-2): the fields a clerk fills while
    the customer talks, in speaking order."""

    channel = forms.ChoiceField(label=_("Channel"), choices=[(Channel.PHONE, Channel.PHONE.label),
                                                             (Channel.VISIT, Channel.VISIT.label)],
                                initial=Channel.PHONE)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=100)
    anonymous = forms.BooleanField(label=_("Anonymous"), required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), required=False, max_length=30)
    summary = forms.CharField(label=_("Summary"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    product = forms.CharField(label=_("Product or model"), required=False, max_length=200)
    order_number = forms.CharField(label=_("Order number"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Category"), required=False)
    level = forms.TypedChoiceField(label=_("Level"), required=False, coerce=int, empty_value=None,
                                   choices=[("", "—"), *Level.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _categories()


# --- one small form per workflow action -----------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


def _override_field() -> forms.CharField:
    """R-CM-2: filled only to send a message that contains a forbidden phrase."""
    return forms.CharField(label=_("Send despite a forbidden phrase: why"), required=False, max_length=1000)


class TextForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 2}))


class MessageForm(TextForm):
    override_reason = _override_field()


class ReplyForm(forms.Form):
    message = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 3}))
    override_reason = _override_field()


class ProposeForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 2}))
    amount = forms.DecimalField(label=_("Amount"), required=False, max_digits=12, decimal_places=2)


class JudgeForm(forms.Form):
    valid = forms.TypedChoiceField(label=_("Valid"), coerce=lambda v: v == "yes",
                                   choices=[("yes", _("Yes")), ("no", _("No"))])
    company_responsible = forms.TypedChoiceField(
        label=_("Company responsible"), required=False, empty_value=None,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))])
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class InvalidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    reply = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = _override_field()


class LowerLevelForm(forms.Form):
    level = forms.TypedChoiceField(label=_("Level"), coerce=int, choices=Level.choices)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)
    level = forms.TypedChoiceField(label=_("Level"), required=False, coerce=int, empty_value=None,
                                   choices=[("", "—"), *Level.choices])
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _categories()


class TransferForm(forms.Form):
    to_unit = forms.ChoiceField(label=_("Responsible unit"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].choices = _units()


class PlatformResultForm(forms.Form):
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(forms.Form):
    into = forms.CharField(label=_("Merge into number"), max_length=20)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
