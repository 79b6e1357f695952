"""Chinese full-text search over complaints.

Texts are stored as CJK bigram tokens in ``Complaint.search_tokens`` (kesu.lib.text). SQLite
indexes them with an FTS5 table kept in sync by triggers; PostgreSQL with a GIN index on
``array_to_tsvector(string_to_array(search_tokens, ' '))``, which takes the tokens as lexemes
unchanged, so results do not depend on the cluster's locale (the default text-search parser
drops CJK characters under the C locale). Both are created by migration 0004.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL

from kesu.lib.text import index_text, tokens

from .models import Complaint


class TokensMatch(Func):
    """PostgreSQL: ``array_to_tsvector(string_to_array(<tokens>, ' ')) @@ <query>::tsquery``.

    The left side is exactly the expression of the GIN index ``complaint_search`` (migration
    0004), so the planner can use it. ``::tsquery`` takes the query's lexemes as written:
    ``to_tsquery`` would run them through a text-search parser, which drops CJK characters
    under the C locale. The column is compiled by Django, so it names the right alias when
    the queryset is joined to itself or used as a subquery.
    """

    output_field = BooleanField()
    arity = 2

    def as_sql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        tokens_sql, tokens_params = compiler.compile(self.source_expressions[0])
        query_sql, query_params = compiler.compile(self.source_expressions[1])
        sql = f"array_to_tsvector(string_to_array({tokens_sql}, ' ')) @@ ({query_sql})::tsquery"
        return sql, [*tokens_params, *query_params]


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


# Up to this many matches (1 % of a million complaints), a search is answered from the GIN
# index (their ids, then the rows by primary key); beyond it, by walking the newest complaints,
# which meets a page of 51 matches within some 5,000 rows.
FEW = 10_000


def _few_matches(query: str) -> list[int] | None:
    """PostgreSQL: the ids of the complaints matching ``query`` if there are at most ``FEW``,
    else None.

    Why: the planner estimates a word it has no statistics for at 0.5 % of the table and
    prices the per-row ``array_to_tsvector`` at almost nothing, so for a list page (newest 51
    by id) it walks the primary key backwards and rebuilds every row's vector until 51 match.
    For a rare word at 1,000,000 complaints that is the whole table: 7 s for a word in 282
    complaints (docs/performance.md, "Full-text search"). Here index and sequential scans are switched off for
    one statement, which leaves the bitmap scan of the GIN index; LIMIT stops it after FEW + 1
    rows, so a common word costs a bounded probe and then takes the walk, which is fast for it.
    """
    table = Complaint._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute(
            f"SELECT id FROM {table} WHERE array_to_tsvector(string_to_array(search_tokens, ' ')) "
            "@@ (%s)::tsquery LIMIT %s",
            [query, FEW + 1],
        )
        ids = [row[0] for row in cur.fetchall()]
        # SET LOCAL lasts to the end of the outermost transaction: restore the defaults.
        cur.execute("SET LOCAL enable_seqscan TO DEFAULT")
        cur.execute("SET LOCAL enable_indexscan TO DEFAULT")
    return ids if len(ids) <= FEW else None


def filter_text(qs: QuerySet[Complaint], q: str) -> QuerySet[Complaint]:
    """Complaints whose texts contain every bigram of ``q`` (AND), using the index."""
    wanted = list(dict.fromkeys(tokens(q)))
    if not wanted:
        # Only punctuation or spaces: nothing to look for, so nothing matches.
        return qs.none()
    if connection.vendor == "postgresql":
        # Each token quoted as one lexeme (quotes and backslashes doubled), ANDed together.
        query = " & ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in wanted)
        few = _few_matches(query)
        if few is not None:
            # One array parameter rather than thousands of placeholders.
            return qs.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [few]))
        return qs.filter(TokensMatch(F("search_tokens"), Value(query)))
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in wanted)
    # pk__in, not a hand-written "complaints_complaint.id IN": Django names the column by the
    # query's own alias, which differs when the queryset ends up as a subquery.
    fts = RawSQL("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH %s", [match])
    return qs.filter(pk__in=fts)
