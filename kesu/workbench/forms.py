"""Page forms: they check the shape of the input only. Rules that depend on stored state are
the actions' (they raise Invalid with the field's name, which the views put on the form)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from kesu.complaints import permissions
from kesu.complaints.actions import EDITABLE
from kesu.complaints.models import (
    Channel,
    ComplainantType,
    Complaint,
    Demand,
    Level,
    Status,
)
from kesu.complaints.classification import catalogue
from kesu.lib.revisions import Signature
from kesu.org.directory import directory
from kesu.org.models import Role, User

from .render import escape


class QuickSelect(forms.SelectMultiple):
    """A <select> drawn in Python. Django draws each <option> through a template include,
    which was a third of the queue page's CPU for the filter form's few hundred options, and
    most of the complaint page's for the step forms' unit, person and category pickers."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        chosen = {str(v) for v in (value if isinstance(value, (list, tuple)) else [value]) if v is not None}
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        if self.allow_multiple_selected:
            final["multiple"] = True
        # Plain string building, escaped as format_html would (conditional_escape): a third
        # of the time of format_html per option, which adds up over the few hundred options.
        options = "".join(
            f'<option value="{escape(key)}"{" selected" if str(key) in chosen else ""}>{escape(label)}</option>'
            for key, label in self.choices
        )
        return mark_safe(f"<select{flatatt(final)}>{options}</select>")  # escaped above


class QuickSingleSelect(QuickSelect):
    allow_multiple_selected = False

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class ReferenceForm(forms.Form):
    """A form whose choices are reference data (categories, units, people), from what the
    process keeps (kesu/lib/revisions.py): as of the request user's ``signature`` when it was
    read with the user (kesu/org/backends.py), else as of one read now."""

    def __init__(self, *args: Any, signature: Signature | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signature = signature


def _categories(signature: Signature | None) -> list[tuple[str, str]]:
    active = sorted((c for c in catalogue(signature).by_id.values() if c.active), key=lambda c: (c.sort, c.pk))
    return [("", "—")] + [(c.code, c.label) for c in active]


def _units(signature: Signature | None) -> list[tuple[str, str]]:
    return [("", "—")] + [(u.code, u.name) for u in directory(signature).active_units.values()]  # by path


# Roles a complaint is never handed to.
HANDED_TO_NOBODY = (Role.AUDITOR, Role.ADMIN)

SORT_CHOICES = [
    ("-id", _("Newest registered first")),
    ("id", _("Oldest registered first")),
    ("-received_at", _("Latest received first")),
    ("received_at", _("Earliest received first")),
    ("-level", _("Most serious first")),
]


class QueueFilterForm(ReferenceForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        help_text=_("Number, phone or words"))
    state = forms.MultipleChoiceField(label=_("State"), required=False, choices=Status.choices,
                                      widget=QuickSelect)
    level = forms.TypedMultipleChoiceField(label=_("Level"), required=False, choices=Level.choices, coerce=int,
                                           widget=QuickSelect)
    category = forms.ChoiceField(label=_("Category"), required=False, widget=QuickSingleSelect)
    channel = forms.MultipleChoiceField(label=_("Channel"), required=False, choices=Channel.choices,
                                        widget=QuickSelect)
    unit = forms.ChoiceField(label=_("Unit"), required=False, widget=QuickSingleSelect)
    received_from = forms.DateField(label=_("Received from"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(label=_("Received until"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    # Keys of queries.SORTS: every order is keyset-paginated like the default.
    sort = forms.ChoiceField(label=_("Order"), required=False, choices=SORT_CHOICES, widget=QuickSingleSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _categories(self.signature)
        self.fields["unit"].choices = _units(self.signature)

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


class RegisterForm(ReferenceForm):
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
        self.fields["category"].choices = _categories(self.signature)


# --- one small form per workflow action -----------------------------------------------------


class ContextForm(forms.Form):
    """A step form whose choices or initial values depend on the complaint and the user (the
    open transfers one may answer, the details being edited). ``dispatch.build`` passes them."""

    def __init__(self, *args: Any, complaint: Complaint, user: User, **kwargs: Any) -> None:
        self.complaint, self.user = complaint, user
        super().__init__(*args, **kwargs)


class CustomerTextForm(forms.Form):
    """R-CM-2 as the handler types: each text box named in ``customer_fields`` goes to the
    customer, so it posts itself (htmx, 400 ms after typing stops) to the phrase check, whose
    answer lands in ``#hits-<field>`` next to it. Sending is checked again by the action."""

    customer_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.customer_fields:
            html_name = self.add_prefix(name)
            self.fields[name].widget.attrs.update({
                "hx-post": reverse("workbench:phrase_check"),
                "hx-trigger": "input changed delay:400ms",
                "hx-target": f"#hits-{html_name}",
                "hx-vals": json.dumps({"field": html_name}),
                "aria-describedby": f"hits-{html_name}",
                "data-customer-text": "1",
            })


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


def _override_field() -> forms.CharField:
    """R-CM-2: filled only to send a message that contains a forbidden phrase."""
    return forms.CharField(label=_("Send despite a forbidden phrase: why"), required=False, max_length=1000)


class TextForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 2}))


class MessageForm(CustomerTextForm):
    customer_fields = ("text",)
    text = forms.CharField(label=_("Message to the customer"), widget=forms.Textarea(attrs={"rows": 3}))
    override_reason = _override_field()


class ReplyForm(CustomerTextForm):
    customer_fields = ("message",)
    message = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 3}))
    override_reason = _override_field()


class ProposeForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 2}))
    amount = forms.DecimalField(label=_("Amount"), required=False, max_digits=12, decimal_places=2)


class JudgeForm(forms.Form):
    valid = forms.TypedChoiceField(label=_("Valid"), coerce=lambda v: v == "yes",
                                   choices=[("yes", _("Yes")), ("no", _("No"))], widget=QuickSingleSelect)
    company_responsible = forms.TypedChoiceField(
        label=_("Company responsible"), required=False, empty_value=None,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))], widget=QuickSingleSelect)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class InvalidForm(CustomerTextForm):
    customer_fields = ("reply",)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    reply = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = _override_field()


class LowerLevelForm(forms.Form):
    level = forms.TypedChoiceField(label=_("Level"), coerce=int, choices=Level.choices, widget=QuickSingleSelect)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ClassifyForm(ReferenceForm):
    category = forms.ChoiceField(label=_("Category"), required=False, widget=QuickSingleSelect)
    level = forms.TypedChoiceField(label=_("Level"), required=False, coerce=int, empty_value=None,
                                   choices=[("", "—"), *Level.choices], widget=QuickSingleSelect)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _categories(self.signature)


def _staff(signature: Signature | None) -> list[tuple[str, str]]:
    """People a complaint can be handed to, with their units so that namesakes differ."""
    known = directory(signature)
    people = sorted((u for u in known.users.values()
                     if u.is_active and not u.is_system and u.role not in HANDED_TO_NOBODY),
                    key=lambda u: u.username)[:1000]
    return [("", "—")] + [
        (u.username, f"{u.name}（{'、'.join(unit.name for unit in known.units_of.get(u.pk, ())) or u.username}）")
        for u in people]


class TransferForm(ReferenceForm):
    """R-RT-4 / R-IN-5: to a responsible unit for cause and countermeasure, or — with “becomes
    the handler” — a hand-over of the complaint to a person of that unit."""

    to_unit = forms.ChoiceField(label=_("Responsible unit"), widget=QuickSingleSelect)
    to_user = forms.ChoiceField(label=_("Person (optional)"), required=False, widget=QuickSingleSelect)
    new_handler = forms.BooleanField(label=_("This person becomes the handler"), required=False)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].choices = _units(self.signature)
        self.fields["to_user"].choices = _staff(self.signature)


class AnswerForm(ContextForm):
    """R-RT-4: the responsible unit's cause and countermeasure, on a transfer it may answer."""

    transfer = forms.TypedChoiceField(label=_("Transfer"), coerce=int, widget=QuickSingleSelect)
    cause = forms.CharField(label=_("Cause"), widget=forms.Textarea(attrs={"rows": 2}))
    countermeasure = forms.CharField(label=_("Countermeasure"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["transfer"].choices = [
            (t.pk, f"{t.to_unit.name} · {timezone.localtime(t.at):%m-%d %H:%M} · {t.reason[:30]}")
            for t in answerable_transfers(self.complaint, self.user)
        ]


def answerable_transfers(complaint: Complaint, user: User) -> list[Any]:
    """Open transfers the user may answer (``permissions.can_answer`` decides, per transfer). A
    hand-over to a new handler (R-IN-5) asks for no cause and countermeasure."""
    rows = complaint.transfers.filter(answered_at=None, new_handler=False).select_related("to_unit")
    return [t for t in rows if permissions.can_answer(user, complaint, {t.to_unit_id})]


class AttachForm(forms.Form):
    file = forms.FileField(label=_("File (photo, document or recording)"))


class PromiseForm(forms.Form):
    """R-SLA-8: empty time = the policy's default (24 h)."""

    due_at = forms.DateTimeField(label=_("Reply by (empty: within 24 h)"), required=False,
                                 input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                 widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                            format="%Y-%m-%dT%H:%M"))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class EditForm(ContextForm):
    """Correct the details (R-IN-3): prefilled with the current values; only what the user
    changed is sent to ``actions.edit`` (as ``changes``), so an untouched field never
    overwrites a colleague's correction. The contact fields (address, other contact) are left
    out: they are masked on the page, and prefilling them would show them unlogged (R-AX-2)."""

    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=100)
    summary = forms.CharField(label=_("Summary"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    product = forms.CharField(label=_("Product or model"), required=False, max_length=200)
    lot_number = forms.CharField(label=_("Lot number"), required=False, max_length=100)
    order_number = forms.CharField(label=_("Order number"), required=False, max_length=100)
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=0)
    defective_quantity = forms.IntegerField(label=_("Defective quantity"), required=False, min_value=0)
    delivery_date = forms.DateField(label=_("Delivery date"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    store = forms.CharField(label=_("Store or branch"), required=False, max_length=100)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    purchase_amount = forms.DecimalField(label=_("Purchase amount"), required=False, max_digits=12,
                                         decimal_places=2, min_value=0)
    demand = forms.ChoiceField(label=_("Customer's demand"), required=False, choices=[("", "—"), *Demand.choices],
                               widget=QuickSingleSelect)
    demand_detail = forms.CharField(label=_("Demand details"), required=False, max_length=500)
    complainant_type = forms.ChoiceField(label=_("Complainant type"), choices=ComplainantType.choices,
                                         widget=QuickSingleSelect)
    foreign = forms.BooleanField(label=_("Foreign customer"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].initial = getattr(self.complaint, name)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        changes = {}
        for name in self.fields:
            if name not in data:
                continue
            value, current = data[name], getattr(self.complaint, name)
            if value in (None, "") and current in (None, ""):
                continue
            if value != current:
                changes[name] = value
        if not changes and not self.errors:
            raise forms.ValidationError(_("Nothing was changed."), code="unchanged")
        data["changes"] = changes
        return data


assert set(EditForm.base_fields) <= set(EDITABLE), "EditForm offers a field actions.edit refuses"


class PlatformResultForm(forms.Form):
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(forms.Form):
    into = forms.CharField(label=_("Merge into number"), max_length=20)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
