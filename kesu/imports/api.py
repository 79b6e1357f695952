"""``GET /api/v1/complaints/export?format=csv|xlsx&…``: the complaint list's filters, streamed
as a file (R-AX-1 scope, R-AX-2 masking and logging). Mounted before the complaints router:
``/complaints/{number}`` would otherwise take "export" for a number."""

from __future__ import annotations

from typing import Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router

from kesu.complaints import queries
from kesu.complaints.schemas import ComplaintFilters
from kesu.org.models import User

from .export import start_export

router = Router(tags=["import and export"])

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportFilters(ComplaintFilters):
    format: Literal["csv", "xlsx"] = "csv"
    masked: bool = False


@router.get("/complaints/export", summary="Export complaints (CSV or Excel)",
            response={200: None}, openapi_extra={"responses": {200: {
                "description": "the file",
                "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in CONTENT_TYPES.values()},
            }}})
def export_complaints(request: HttpRequest, filters: Query[ExportFilters]):
    """Every complaint you may see that matches the filters of ``GET /complaints``, in the
    columns that ``kesu import --mapping kesu`` reads back. Phones and addresses are in full
    only for roles that may see them (and not with ``masked=true``); every export is logged."""
    user: User = request.auth  # type: ignore[attr-defined,assignment]
    wanted = filters.dict(exclude={"format", "masked"})
    qs = queries.filter_complaints(queries.visible_to(user), now=timezone.now(), **wanted)
    export = start_export(qs, by=user, fmt=filters.format, via="api", filters=wanted, masked=filters.masked)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    name = f"complaints-{stamp}.{filters.format}"
    if filters.format == "csv":
        response = StreamingHttpResponse(export.csv_chunks(), content_type=CONTENT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return FileResponse(export.xlsx_file(), as_attachment=True, filename=name,
                        content_type=CONTENT_TYPES["xlsx"])
