from __future__ import annotations

from django import template
from django.utils import timezone

from kesu.sla.admin_calendar import calendar_warnings

register = template.Library()


@register.simple_tag
def missing_holiday_warnings() -> list[str]:
    """The calendar's warnings for the admin index: a year counted Monday–Friday only."""
    return calendar_warnings(timezone.localdate())
