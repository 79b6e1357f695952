"""The complaint page's forms for the investigation and the CAPA (SPEC section 6), and the CAPA
page's. Shape only: the rules are the actions' (``kesu.quality.actions``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kesu.complaints import queries
from kesu.org.directory import directory
from kesu.org.models import Role, User
from kesu.workbench.forms import ContextForm, QuickSingleSelect, ReferenceForm, _staff, _units

from . import read
from .actions import PlannedAction
from .models import ActionKind, CauseGroup, Responsibility


def _text(label: Any, rows: int = 2, required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": rows}))


def _date(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))


class InvestigationForm(ContextForm, ReferenceForm):
    """R-IV-1, R-IV-2: prefilled with what was recorded, so a correction starts from it. The
    inspection result is QA's: shown to others, not editable by them."""

    facts = _text(_("Verified facts"), 3, required=True)
    evidence = _text(_("Evidence"))
    inspection_result = _text(_("Product inspection result (QA)"))
    responsibility = forms.ChoiceField(label=_("Responsibility"), choices=[("", "—"), *Responsibility.choices],
                                       widget=QuickSingleSelect)
    responsible_unit = forms.ChoiceField(label=_("Responsible unit (down to the team)"), required=False,
                                         widget=QuickSingleSelect)
    responsible_person = forms.CharField(label=_("Responsible person"), required=False, max_length=100)
    whole_unit = forms.BooleanField(label=_("No person or team can be named: the whole unit is responsible"),
                                    required=False)
    third_party = forms.CharField(label=_("Third party (carrier, supplier, company)"), required=False,
                                  max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsible_unit"].choices = _units(self.signature)
        found = read.investigation(self.complaint)
        if found is not None:
            for name in ("facts", "evidence", "inspection_result", "responsibility", "responsible_person",
                         "whole_unit", "third_party"):
                self.fields[name].initial = getattr(found, name)
            self.fields["responsible_unit"].initial = found.responsible_unit.code if found.responsible_unit else ""
        if self.user.role != Role.QA:
            self.fields["inspection_result"].disabled = True

    def clean_responsible_unit(self) -> Any:
        code = self.cleaned_data.get("responsible_unit")
        if not code:
            return None
        unit = directory(self.signature).active_units.get(code)
        if unit is None:
            raise forms.ValidationError(_("Unknown unit."))
        return unit


class CapaForm(ContextForm, ReferenceForm):
    """R-IV-3: the cause analysis in the six groups (fill those that apply), a corrective action
    and, for a quality complaint, a preventive one, each with an owner and a due date."""

    title = forms.CharField(label=_("Title"), max_length=200)
    corrective = _text(_("Corrective action"), required=True)
    corrective_owner = forms.ChoiceField(label=_("Owner of the corrective action"), widget=QuickSingleSelect)
    corrective_due = _date(_("Corrective action due"))
    preventive = _text(_("Preventive action"))
    preventive_owner = forms.ChoiceField(label=_("Owner of the preventive action"), required=False,
                                         widget=QuickSingleSelect)
    preventive_due = _date(_("Preventive action due"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        causes = {f"cause_{g}": _text(_("Cause: %(group)s") % {"group": label}) for g, label in CauseGroup.choices}
        fields = dict(self.fields)
        self.fields.clear()
        self.fields["title"] = fields.pop("title")
        self.fields.update(causes)
        self.fields.update(fields)
        staff = _staff(self.signature)
        self.fields["corrective_owner"].choices = staff
        self.fields["preventive_owner"].choices = staff
        self.fields["title"].initial = self.complaint.summary[:200]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["causes"] = [(g, data.get(f"cause_{g}") or "") for g in CauseGroup.values]
        planned = []
        for kind in (ActionKind.CORRECTIVE, ActionKind.PREVENTIVE):
            text, owner, due = data.get(kind.value), data.get(f"{kind.value}_owner"), data.get(f"{kind.value}_due")
            if not text:
                continue
            if not owner or not due:
                raise forms.ValidationError(_("Each action needs an owner and a due date."))
            user = User.objects.staff().filter(username=owner).first()
            if user is None:
                raise forms.ValidationError(_("Unknown user “%(username)s”.") % {"username": owner})
            planned.append(PlannedAction(kind=kind.value, description=text, owner=user, due_date=due))
        data["actions"] = planned
        return data


class LinkCapaForm(ContextForm):
    """R-IV-4: the complaint joins an open CAPA with the same cause."""

    capa = forms.ChoiceField(label=_("CAPA"), widget=QuickSingleSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["capa"].choices = [("", "—")] + [
            (number, f"{number} {title}") for number, title in read.open_choices(self.complaint)]


class ActionForm(ReferenceForm):
    """Another action on an open CAPA (the CAPA page)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ActionKind.choices, widget=QuickSingleSelect)
    description = _text(_("Action"), required=True)
    owner = forms.ChoiceField(label=pgettext_lazy("capa", "Owner"), widget=QuickSingleSelect)
    due_date = _date(_("Due date"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _staff(self.signature)

    def planned(self) -> PlannedAction:
        d = self.cleaned_data
        owner = queries.transfer_user(d["owner"], field="owner")
        return PlannedAction(kind=d["kind"], description=d["description"], owner=owner, due_date=d["due_date"])


class DoneForm(forms.Form):
    result = _text(_("What was done"), required=True)


class VerifyForm(forms.Form):
    effective = forms.TypedChoiceField(label=_("Effect"), coerce=lambda v: v == "yes", widget=QuickSingleSelect,
                                       choices=[("yes", _("Effective: close the action")),
                                                ("no", _("Not effective: send it back"))])
    note = _text(_("Effect confirmation"))
