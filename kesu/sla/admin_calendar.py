"""Django admin for the business calendar: day overrides, covered years and the working hours.

Every page here warns administrators about a year that falls back to Monday–Friday because
neither the ``chinese-calendar`` package nor an import covers it (``calendar_warnings``).
Imported from ``kesu.sla.admin``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.db.models.functions import ExtractYear
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .calendar import PACKAGE_YEARS, WEEKDAY_NAMES, BusinessCalendar, default_is_working_day
from .models import CalendarDay, CalendarSource, CalendarYear, WorkingHours


def calendar_warnings(today: dt.date) -> list[str]:
    """One message per year that counts working days as Monday–Friday only."""
    return [
        gettext("The statutory holidays for %(year)s have not been entered yet; working days "
                "are counted Monday to Friday.") % {"year": year}
        for year in BusinessCalendar.load().missing_years(today)
    ]


class CalendarWarningMixin:
    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET":
            for text in calendar_warnings(timezone.localdate()):
                messages.warning(request, text)
        return super().changelist_view(request, extra_context)  # type: ignore[misc]  # ModelAdmin's


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = set(CalendarDay.objects.annotate(y=ExtractYear("date"))
                    .values_list("y", flat=True).distinct())
        today = timezone.localdate()
        years |= {today.year, today.year + 1}
        return [(str(y), str(y)) for y in sorted(years, reverse=True)]

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[CalendarDay]) -> QuerySet[CalendarDay]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarWarningMixin, admin.ModelAdmin):
    list_display = ["date", "weekday", "is_working", "name", "default_rule", "source", "updated_at"]
    list_filter = [YearFilter, "is_working", "source"]
    search_fields = ["name"]
    date_hierarchy = "date"
    ordering = ["date"]
    readonly_fields = ["source", "updated_at"]
    fields = ["date", "is_working", "name", "source", "updated_at"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return WEEKDAY_NAMES[obj.date.weekday()]

    @admin.display(description=_("without this entry"))
    def default_rule(self, obj: CalendarDay) -> str:
        """What the day would be without the override, so redundant rows stand out."""
        working = default_is_working_day(obj.date)
        basis = _("holiday schedule") if obj.date.year in PACKAGE_YEARS else _("Monday–Friday")
        kind = _("working day") if working else _("day off")
        return f"{kind} ({basis})"

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        obj.source = CalendarSource.MANUAL  # an administrator's edit, even of an imported day
        super().save_model(request, obj, form, change)


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarWarningMixin, admin.ModelAdmin):
    list_display = ["year", "complete", "source", "note", "updated_at"]
    list_filter = ["complete", "source"]
    readonly_fields = ["source", "updated_at"]
    fields = ["year", "complete", "note", "source", "updated_at"]
    ordering = ["-year"]

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "subtitle": gettext(
            "Years %(first)s–%(last)s come from the chinese-calendar package and need no entry.")
            % {"first": PACKAGE_YEARS[0], "last": PACKAGE_YEARS[-1]}}
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        obj.source = CalendarSource.MANUAL
        super().save_model(request, obj, form, change)


@admin.register(WorkingHours)
class WorkingHoursAdmin(CalendarWarningMixin, admin.ModelAdmin):
    """A single row: the list goes straight to it (or to adding it while the defaults apply)."""

    list_display = ["__str__", "start", "end", "updated_at"]
    fields = ["start", "end"]

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        row = WorkingHours.objects.order_by("pk").first()
        if not self.has_change_permission(request, row):
            return super().changelist_view(request, extra_context)
        for text in calendar_warnings(timezone.localdate()):
            messages.warning(request, text)
        if row is None:
            return HttpResponseRedirect(reverse("admin:sla_workinghours_add"))
        return HttpResponseRedirect(reverse("admin:sla_workinghours_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not WorkingHours.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
