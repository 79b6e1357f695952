"""Portal forms: the shape of the input only (the actions check the rest). Captcha fields are
plain fields filled by ``kesu.portal.captcha``: the same check serves the pages and the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kesu.complaints.models import Demand
from kesu.followups.models import Satisfaction

# Django's own wording. Named here so that the project catalogue (which outranks every app's)
# carries it: django-simple-captcha's catalogue would otherwise replace Django's translation
# of this message with its own ("这个字段是必须的") on every form of the site.
REQUIRED = _("This field is required.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class CaptchaMixin(forms.Form):
    captcha_key = forms.CharField(required=False, widget=forms.HiddenInput)
    captcha_answer = forms.CharField(label=_("Characters in the picture"), required=False, max_length=10,
                                     widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off"}))


class SubmitForm(CaptchaMixin):
    customer_name = forms.CharField(label=_("Name"), required=False, max_length=100)
    anonymous = forms.BooleanField(label=_("Stay anonymous"), required=False,
                                   help_text=_("We cannot contact you or send you the lookup code."))
    contact_phone = forms.CharField(label=_("Mobile phone"), required=False, max_length=30,
                                    widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.CharField(label=_("Email"), required=False, max_length=200,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    product = forms.CharField(label=_("Product or model"), required=False, max_length=200)
    order_number = forms.CharField(label=_("Order number"), required=False, max_length=100)
    lot_number = forms.CharField(label=_("Lot number"), required=False, max_length=100,
                                 help_text=_("Printed on the package, if you have it."))
    description = forms.CharField(label=_("What happened?"), max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 5}))
    demand = forms.ChoiceField(label=_("What would you like us to do?"), required=False,
                               choices=[("", "—"), *Demand.choices])
    demand_detail = forms.CharField(label=_("Details of your request"), required=False, max_length=500)
    photos = MultipleFileField(label=_("Photos"), required=False)


class LookupForm(CaptchaMixin):
    number = forms.CharField(label=_("Complaint number"), max_length=20,
                             widget=forms.TextInput(attrs={"autocapitalize": "characters", "placeholder": "TS…"}))
    code = forms.CharField(label=_("Lookup code"), max_length=12,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(label=_("How satisfied are you with how we handled your complaint?"),
                                          choices=Satisfaction.choices, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Anything else you would like to tell us?"), required=False,
                              max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
