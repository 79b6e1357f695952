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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
# (a tenth of a smaller table). Costs are counted in row checks: checking one row's stored
# vector while walking the newest, about 1–1.5 µs at a million complaints. There are three ways.
#
# - The walk: the list walks the newest complaints checking each. It meets a page (PAGE rows) of
#   the user's matches within about PAGE × NEWEST / (the user's matches in the sample) rows.
# - The index: the GIN index gives all the word's matches, about (all matches in the sample) ×
#   (complaints) / NEWEST, each read at INDEXED row checks (the matches lie on pages all over
#   the table, the newest together; and the index's bitmap costs in proportion to all the
#   word's matches, however few are then read). Used only if it has at most FEW matches for the
#   list (their ids, then the page by primary key); beyond that, the walk after all.
# - The slice, for a newest-first page (``newest_first``): the index's bitmap ANDed with the
#   primary key's over the SLICED × (the walk's rows) newest, so that only the matches in that
#   slice are read: GIN row checks per match of the word, RANGE per row of the slice, INDEXED
#   per match inside it. It serves the words between, too rare for a short walk and too common
#   for a short read of the index: at a million, a word in 5,000 complaints costs 10–14 ms
#   either of those ways and 5–6 ms this one. Only for a single bigram (``way``).
#
# The cheapest wins. INDEXED was measured (docs/performance.md, "Chinese search at a million"):
# both ways timed for 80 sample words, one index read cost 2.4–3.4 row checks. At 1.5, words of
# 10,000–14,000 matches whose sample happened to hold few went to the index, read 10,000
# matches to learn there were too many, then walked: 25–33 ms where walking alone took 8.
# GIN and RANGE were measured the same way (``python -m bench.search_paths``, which times the
# slice too): the bitmap index scans of EXPLAIN ANALYZE, 0.37 µs a match and 0.07 µs a row.
PAGE = 51  # a page of the list (50) and one more, to know there is a next
NEWEST = 5_000
SMALLEST = 1_000  # the sample of a table under 10,000 complaints (a tenth of more)
INDEXED = 2.5
GIN = 0.32
RANGE = 0.064
SLICED = 2  # the slice holds about two pages of the user's matches: one is short now and then
SAMPLED = 1_000  # matches read from the sample at most: a word in one complaint in five
FEW = 10_000


@dataclass(frozen=True)
class Costs:
    """What the sample says of a query, in row checks (above), and the table's ids."""

    walk: float  # rows the walk reads for a page of the user's matches
    matches: float  # the word's matches in the whole table, whoever may see them
    low: int  # the table's smallest and largest id
    top: int
    gap: int = 0  # ids without a complaint among the newest sampled (a rolled-back import's)

    @property
    def total(self) -> int:
        return self.top - self.low + 1

    @property
    def index(self) -> float:
        return INDEXED * self.matches

    @property
    def slice_rows(self) -> int:
        return max(PAGE, round(SLICED * self.walk))

    @property
    def slice_ids(self) -> int:
        """How far below where a page starts the slice reaches: its rows, and the gap in the
        ids if it lies there (the newest complaints'; one further down makes the slice short)."""
        return self.slice_rows + self.gap

    @property
    def slice(self) -> float:
        rows = self.slice_rows
        return GIN * self.matches + RANGE * self.slice_ids + INDEXED * rows * self.matches / self.total


def costs(qs: QuerySet[Complaint], query: str) -> Costs | None:
    """PostgreSQL: what each way of answering ``query`` over ``qs`` costs, estimated from the
    newest complaints of the table whoever may see them (so the sample costs NEWEST rows at
    most, whatever the user's filters). None when the sample holds none of the list's matches:
    the walk might go far."""
    table = Complaint.objects.using(qs.db)
    name = Complaint._meta.db_table
    with connections[qs.db].cursor() as cur:
        # Probes of the primary key's index: the smallest and largest ids, and where the sample
        # starts: the newest rows, not the newest ids, for a gap at the top of the ids (a
        # rolled-back import's, which the sequence does not give back) would leave it a few rows.
        # A tenth of a smaller table (the index's answer is cheap there anyway), all of a small one.
        cur.execute(f"SELECT min(id), max(id), (SELECT id FROM {name} ORDER BY id DESC LIMIT 1 OFFSET "
                    f"(SELECT least(%s, greatest((max(id) - min(id) + 1) / 10, %s)) - 1 FROM {name})) "
                    f"FROM {name}", [NEWEST, SMALLEST])
        low, top, floor = cur.fetchone()
    if top is None:
        return None
    total = top - low + 1
    sampled = min(NEWEST, max(total // 10, SMALLEST))
    gap = 0
    if floor is None or sampled >= total:  # fewer complaints than that
        sample, sampled = table, table.count()
        total = sampled
    else:
        sample, gap = table.filter(pk__gte=floor), top - floor + 1 - sampled
    hits = list(sample.filter(VectorMatch(F("pk"), Value(query), indexed=False))
                .order_by("-pk").values_list("pk", flat=True)[:SAMPLED])
    if not hits:
        return None
    # The list's own filters (visibility, state, …) on the sample's matches.
    seen = qs.filter(_IdIn(F("pk"), hits)).count() if qs.query.where else len(hits)
    if not seen:
        return None
    return Costs(walk=PAGE * sampled / seen, matches=len(hits) * total / sampled, low=low, top=top, gap=gap)


def way(estimate: Costs | None, *, sliceable: bool = True) -> str:
    """``"walk"``, ``"slice"`` or ``"index"``: the cheapest for this estimate. Without one (the
    sample holds no match) the index, which gives up above FEW matches.

    ``sliceable``: whether the query is a single bigram. For several, the planner takes their
    bigrams as independent and so estimates the index's matches at a handful (拉走 & 走一 & 一个:
    4 estimated, 10,619 actual); it then reads every match from the table and filters the slice
    out of them (31 ms at a million) instead of ANDing the two bitmaps."""
    if estimate is None:
        return "index"
    ways = {"walk": estimate.walk, "index": estimate.index}
    if sliceable:
        ways["slice"] = estimate.slice
    return min(ways, key=ways.__getitem__)


@dataclass(frozen=True)
class Slice:
    """A search that a newest-first page answers from the newest ``estimate.slice_ids`` ids below
    where it starts (``newest_first``); the estimate also gives the table's ids then."""

    query: str
    estimate: Costs


def tsquery(wanted: list[str]) -> str:
    """The tokens as a PostgreSQL text query: each quoted as one lexeme (quotes and backslashes
    doubled), ANDed together."""
    return " & ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in wanted)


@contextmanager
def _bitmap_only(using: str) -> Iterator[None]:
    """Index and sequential scans off for the statements inside, which leaves PostgreSQL the
    bitmap scans of the indexes (the planner, misled by its estimate of a word's matches, might
    walk the whole table instead). More working memory keeps the bitmaps exact: a lossy one
    makes PostgreSQL recheck every row of the pages it covers."""
    with transaction.atomic(using=using), connections[using].cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute("SET LOCAL work_mem = '32MB'")
        yield
        # SET LOCAL lasts to the end of the outermost transaction: restore the defaults.
        cur.execute("SET LOCAL enable_seqscan TO DEFAULT")
        cur.execute("SET LOCAL enable_indexscan TO DEFAULT")
        cur.execute("SET LOCAL work_mem TO DEFAULT")


def _few_matches(qs: QuerySet[Complaint], query: str) -> list[int] | None:
    """PostgreSQL: the ids of the complaints of ``qs`` matching ``query`` if there are at most
    ``FEW``, else None: the GIN index's bitmap, stopped by LIMIT after FEW + 1 rows."""
    probe = (qs.filter(VectorMatch(F("pk"), Value(query))).order_by()
             .values_list("pk", flat=True)[: FEW + 1])
    with _bitmap_only(qs.db):
        ids = list(probe)
    return ids if len(ids) <= FEW else None


def newest_first(rows: QuerySet[Complaint], below: int | None, count: int) -> list[Complaint] | None:
    """The first ``count`` complaints of ``rows`` (a list ordered newest first, its cursor
    applied, ``below`` the cursor's id) read through the slice that ``filter_text`` chose for
    its search, or None when it chose none (then read ``rows`` as they are).

    The ids come from the slice: the GIN index's bitmap ANDed with the primary key's over the
    slice's rows below where the page starts. Should the slice hold fewer than ``count`` (its
    size is an estimate), the rest come from below it: walking on, or from the index if the
    slice held less than half of what it should. Either way the page is the one ``rows``
    gives."""
    chosen = getattr(rows, "text_slice", None)
    if chosen is None:
        return None
    start = below if below is not None else chosen.estimate.top + 1
    floor = start - chosen.estimate.slice_ids
    probe = (rows.filter(VectorMatch(F("pk"), Value(chosen.query)), pk__gt=floor)
             .values_list("pk", flat=True)[:count])
    with _bitmap_only(rows.db):
        ids = list(probe)
    found = list(rows.filter(_IdIn(F("pk"), ids))) if ids else []
    if len(found) < count and floor >= chosen.estimate.low:  # else the slice held every match
        rest = rows.filter(pk__lte=floor)
        if len(found) < count // 2:
            # Far fewer than the sample promised (the word was common among the newest only,
            # a burst): below the slice it may be rare enough to read from the index.
            few = _few_matches(rest, chosen.query)
            if few is not None:
                rest = rest.filter(_IdIn(F("pk"), few))
        found += list(rest[: count - len(found)])
    return found


def filter_text(qs: QuerySet[Complaint], q: str) -> QuerySet[Complaint]:
    """Complaints whose texts contain every bigram of ``q`` (AND), using the index.

    PostgreSQL: a word common among the complaints the user sees is checked row by row while
    the list walks the newest (a page within a few thousand rows); a rarer one is read from
    the GIN index if it has at most ``FEW`` matches (the page is then read by primary key);
    one between is walked too, but a newest-first page reads it through a slice of the index
    (``newest_first``, which ``keyset_page`` calls). Either way the result is the same rows;
    only the cost differs.
    """
    wanted = list(dict.fromkeys(tokens(q)))
    if not wanted:
        # Only punctuation or spaces: nothing to look for, so nothing matches.
        return qs.none()
    if connections[qs.db].vendor == "postgresql":
        query = tsquery(wanted)
        walk = qs.filter(VectorMatch(F("pk"), Value(query), indexed=False))
        estimate = costs(qs, query)
        chosen = way(estimate, sliceable=len(wanted) == 1)
        if chosen == "walk":
            return walk
        if chosen == "slice" and estimate is not None:
            return with_slice(walk, Slice(query, estimate))
        few = _few_matches(qs, query)
        if few is not None:
            return qs.filter(_IdIn(F("pk"), few))
        return walk
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in wanted)
    # pk__in, not a hand-written "complaints_complaint.id IN": Django names the column by the
    # query's own alias, which differs when the queryset ends up as a subquery.
    fts = RawSQL("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH %s", [match])
    return qs.filter(pk__in=fts)


def with_slice(qs: QuerySet[Complaint], chosen: Slice) -> QuerySet[Complaint]:
    """``qs`` carrying ``chosen`` through the filters, orderings and slicing chained after it
    (``ComplaintQuerySet`` copies it on every clone), for ``newest_first``."""
    qs = qs.all()
    qs.text_slice = chosen  # type: ignore[attr-defined]
    return qs
