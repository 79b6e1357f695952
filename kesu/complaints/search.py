"""Chinese full-text search over complaints.

Texts are stored as CJK bigram tokens in ``Complaint.search_tokens`` (kesu.lib.text). SQLite
indexes them with an FTS5 table kept in sync by triggers; PostgreSQL with a GIN index on
``array_to_tsvector(string_to_array(search_tokens, ' '))``, which takes the tokens as lexemes
unchanged, so results do not depend on the cluster's locale (the default text-search parser
drops CJK characters under the C locale). Both are created by migration 0002.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from kesu.lib.text import index_text, tokens

from .models import Complaint

PG_VECTOR = "array_to_tsvector(string_to_array(complaints_complaint.search_tokens, ' '))"


def complaint_tokens(complaint: Complaint) -> str:
    return index_text(
        complaint.summary,
        complaint.description,
        complaint.product,
        complaint.customer_name,
        complaint.demand_detail,
        complaint.lot_number,
        complaint.order_number,
    )


def filter_text(qs: QuerySet[Complaint], q: str) -> QuerySet[Complaint]:
    """Complaints whose texts contain every bigram of ``q`` (AND), using the index."""
    wanted = list(dict.fromkeys(tokens(q)))
    if not wanted:
        return qs
    if connection.vendor == "postgresql":
        query = " & ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in wanted)
        return qs.extra(where=[f"{PG_VECTOR} @@ %s::tsquery"], params=[query])
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in wanted)
    return qs.extra(
        where=["complaints_complaint.id IN (SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH %s)"],
        params=[match],
    )
