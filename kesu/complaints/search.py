"""Chinese full-text search over complaints.

Texts are stored as CJK bigram tokens in ``Complaint.search_tokens`` (kesu.lib.text). SQLite
indexes them with an FTS5 table kept in sync by triggers (migration 0004). PostgreSQL keeps
the tokens as a ``tsvector`` in the stored generated column ``search_vector``
(``array_to_tsvector(string_to_array(search_tokens, ' '))``, migration 0009; not on the Django
model: the database computes it on every write) with the GIN index ``complaint_search`` on it.
``array_to_tsvector`` takes the tokens as lexemes unchanged, so results do not depend on the
cluster's locale (the default text-search parser drops CJK characters under the C locale).

How PostgreSQL answers a list search is chosen here, not left to the planner (``filter_text``):
it estimates a query of several bigrams as if they were independent, but the bigrams of one
word come together (客户到店反映: 户到 & 到店 & 店反 is in 85,000 of a million complaints,
estimated at 721), so it read every match through the index where walking the newest
complaints would have met a page of them within a few hundred rows; and a rare word it
estimated as common made it walk the whole table (7 s for a word in 282 complaints).
"""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.db.models import BooleanField, Expression, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL

from kesu.lib.text import index_text, tokens

from .models import Complaint


class VectorMatch(Func):
    """PostgreSQL: ``<alias>.search_vector @@ <query>::tsquery``, which the GIN index
    ``complaint_search`` serves; with ``indexed=False`` the same test as a function call,
    ``ts_match_vq(…)``, which no index serves, so the planner checks the rows it walks
    (newest first for a list page) one by one instead of reading every match.

    The source expression is the complaint's primary key, compiled by Django, so the column
    is named by the right alias when the queryset is joined to itself or used as a subquery
    (``search_vector`` is not a model field). ``::tsquery`` takes the query's lexemes as
    written: ``to_tsquery`` would run them through a text-search parser, which drops CJK
    characters under the C locale.
    """

    output_field = BooleanField()
    arity = 2

    def __init__(self, pk: Expression, query: Expression, *, indexed: bool = True) -> None:
        super().__init__(pk, query)
        self.indexed = indexed

    def as_sql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        pk = self.source_expressions[0]
        column = f"{compiler.quote_name_unless_alias(pk.alias)}.search_vector"
        query_sql, query_params = compiler.compile(self.source_expressions[1])
        if self.indexed:
            return f"{column} @@ ({query_sql})::tsquery", list(query_params)
        return f"ts_match_vq({column}, ({query_sql})::tsquery)", list(query_params)


class _IdIn(Func):
    """``<alias>.id = ANY(%s::bigint[])``: a condition the primary key's index serves in order
    (newest first), so the page stops after its rows. The ids go as one array literal built
    here: thousands of placeholders, or a list for the driver to adapt, cost several times as
    much (8,000 ids: 4 ms against 11 ms)."""

    output_field = BooleanField()
    arity = 1

    def __init__(self, pk: Expression, ids: list[int]) -> None:
        super().__init__(pk)
        self.ids = ids

    def as_sql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        pk_sql, pk_params = compiler.compile(self.source_expressions[0])
        literal = "{" + ",".join(map(str, self.ids)) + "}"
        return f"{pk_sql} = ANY(%s::bigint[])", [*pk_params, literal]


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


# How a search is answered is chosen by its cost, from a sample: the newest NEWEST complaints
# (a tenth of a smaller table). Checking one row's stored vector while walking the newest costs
# about 1–1.5 µs at a million complaints; reading one match found by the GIN index costs INDEXED
# times that (the matches lie on pages all over the table, the newest together; and the index's
# bitmap costs in proportion to all the word's matches, however few are then read). The sample's
# matches estimate both: walking meets a page (PAGE rows) of the user's matches within about
# PAGE × NEWEST / (the user's matches in the sample) rows; the index holds about (all matches
# in the sample) × (complaints) / NEWEST. The cheaper wins. The index's answer is used only if
# it has at most FEW matches for the list (their ids, then the page by primary key); beyond
# that, the walk after all.
#
# INDEXED was measured (docs/performance.md, "Chinese search at a million"): both ways timed for
# 80 sample words, one index read cost 2.4–3.4 row checks. At 1.5, words of 10,000–14,000
# matches whose sample happened to hold few went to the index, read 10,000 matches to learn
# there were too many, then walked: 25–33 ms where walking alone took 8.
PAGE = 51  # a page of the list (50) and one more, to know there is a next
NEWEST = 5_000
INDEXED = 2.5
SAMPLED = 1_000  # matches read from the sample at most: a word in one complaint in five
FEW = 10_000


def costs(qs: QuerySet[Complaint], query: str) -> tuple[float, float] | None:
    """PostgreSQL: (the rows walking the newest complaints of ``qs`` reads for a page of
    matches, the matches the GIN index reads), estimated from the newest complaints of the table
    whoever may see them (so the sample costs NEWEST rows at most, whatever the user's
    filters). None when the sample holds none of the list's matches: the walk might go far."""
    table = Complaint.objects.using(qs.db)
    with connections[qs.db].cursor() as cur:
        # Two probes of the primary key's index. Ids follow registration, with few gaps.
        cur.execute(f"SELECT min(id), max(id) FROM {Complaint._meta.db_table}")
        low, top = cur.fetchone()
    if top is None:
        return None
    total = top - low + 1
    # A tenth of a smaller table (the index's answer is cheap there anyway), all of a small one.
    sampled = min(NEWEST, max(total // 10, 1_000))
    if sampled >= total:
        sample, sampled = table, table.count()
        total = sampled
    else:
        sample = table.filter(pk__gt=top - sampled)
    hits = list(sample.filter(VectorMatch(F("pk"), Value(query), indexed=False))
                .values_list("pk", flat=True)[:SAMPLED])
    if not hits:
        return None
    # The list's own filters (visibility, state, …) on the sample's matches.
    seen = qs.filter(_IdIn(F("pk"), hits)).count() if qs.query.where else len(hits)
    if not seen:
        return None
    return PAGE * sampled / seen, len(hits) * total / sampled


def _walk_is_cheaper(qs: QuerySet[Complaint], query: str) -> bool:
    """PostgreSQL: whether walking the newest complaints of ``qs`` meets a page of matches
    sooner than the GIN index reads all of the matches (``costs``)."""
    estimate = costs(qs, query)
    return estimate is not None and estimate[0] <= INDEXED * estimate[1]


def tsquery(wanted: list[str]) -> str:
    """The tokens as a PostgreSQL text query: each quoted as one lexeme (quotes and backslashes
    doubled), ANDed together."""
    return " & ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in wanted)


def _few_matches(qs: QuerySet[Complaint], query: str) -> list[int] | None:
    """PostgreSQL: the ids of the complaints of ``qs`` matching ``query`` if there are at most
    ``FEW``, else None.

    Index and sequential scans are switched off for one statement, which leaves the bitmap scan
    of the GIN index (the planner, misled by its estimate, might walk the whole table instead);
    LIMIT stops it after FEW + 1 rows. More working memory keeps the bitmap exact: a lossy one
    makes PostgreSQL recheck every row of the pages it covers.
    """
    probe = (qs.filter(VectorMatch(F("pk"), Value(query))).order_by()
             .values_list("pk", flat=True)[: FEW + 1])
    connection = connections[qs.db]
    with transaction.atomic(using=qs.db), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute("SET LOCAL work_mem = '32MB'")
        ids = list(probe)
        # SET LOCAL lasts to the end of the outermost transaction: restore the defaults.
        cur.execute("SET LOCAL enable_seqscan TO DEFAULT")
        cur.execute("SET LOCAL enable_indexscan TO DEFAULT")
        cur.execute("SET LOCAL work_mem TO DEFAULT")
    return ids if len(ids) <= FEW else None


def filter_text(qs: QuerySet[Complaint], q: str) -> QuerySet[Complaint]:
    """Complaints whose texts contain every bigram of ``q`` (AND), using the index.

    PostgreSQL: a word common among the complaints the user sees is checked row by row while
    the list walks the newest (a page within a few thousand rows); a rarer one is read from
    the GIN index if it has at most ``FEW`` matches (the page is then read by primary key);
    else the walk after all. Either way the result is the same rows; only the cost differs.
    """
    wanted = list(dict.fromkeys(tokens(q)))
    if not wanted:
        # Only punctuation or spaces: nothing to look for, so nothing matches.
        return qs.none()
    if connections[qs.db].vendor == "postgresql":
        query = tsquery(wanted)
        walk = qs.filter(VectorMatch(F("pk"), Value(query), indexed=False))
        if _walk_is_cheaper(qs, query):
            return walk
        few = _few_matches(qs, query)
        if few is not None:
            return qs.filter(_IdIn(F("pk"), few))
        return walk
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in wanted)
    # pk__in, not a hand-written "complaints_complaint.id IN": Django names the column by the
    # query's own alias, which differs when the queryset ends up as a subquery.
    fts = RawSQL("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH %s", [match])
    return qs.filter(pk__in=fts)
