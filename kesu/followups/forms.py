"""Workbench forms for the follow-up steps (shape only; the actions check the rules). Used by
``kesu.workbench.dispatch``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import closure
from .models import Exemption, Method, Satisfaction


class FollowUpVisitForm(forms.Form):
    """R-FU-1: how the visit was made and the customer's answer, in words (1 is best)."""

    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.PHONE)
    satisfaction = forms.TypedChoiceField(label=_("Satisfaction"), coerce=int,
                                          choices=[(v, f"{v} · {label}") for v, label in Satisfaction.choices])
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))


class SurveyForm(forms.Form):
    """Nothing to fill: the link goes to the customer's mobile and/or email."""


class WaiveForm(forms.Form):
    """R-FU-4: why no follow-up visit is made."""

    reason = forms.ChoiceField(label=_("Reason"), choices=Exemption.choices)
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


def _close_form_base() -> type:
    # The workbench's ContextForm receives the complaint and the user from dispatch.build.
    from kesu.workbench.forms import ContextForm

    return ContextForm


STATE_WORDS = {
    closure.MET: _("done"),
    closure.MISSING: _("missing"),
    closure.NOT_APPLICABLE: _("not applicable"),
}


class CloseForm(_close_form_base()):  # type: ignore[misc]  # a base chosen at import time
    """Closing (结案) with the four no-lets-go shown as a read-only checklist above the reason
    (R-IV-6): ticked when met, with what is missing. The action checks them again."""

    reason = forms.CharField(label=_("Closing reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        result = closure.checklist(self.complaint)
        names = []
        for c in result.conditions:
            label = f"{c.label}（{STATE_WORDS[c.state]}）"
            if c.detail and c.state != closure.MET:
                label = f"{label}：{c.detail}"
            name = f"check_{c.code}"
            self.fields[name] = forms.BooleanField(label=label, required=False, disabled=True,
                                                   initial=c.state in (closure.MET, closure.NOT_APPLICABLE))
            names.append(name)
        self.order_fields([*names, "reason"])
