"""The Chinese full-text index (migrations 0004 and 0009, complaints/search.py) on both
databases: the search filter has the shape the index serves, and finds CJK bigram tokens.

PostgreSQL: a GIN index on the stored generated column ``search_vector``
(``array_to_tsvector(string_to_array(search_tokens, ' '))``). SQLite: the FTS5 table
``complaint_fts``.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kesu.complaints import actions, search
from kesu.complaints.models import Complaint
from kesu.complaints.search import filter_text

_serial = itertools.count(1)


@pytest.fixture
def make(org, make_intake):
    def _make(summary: str, description: str = "") -> Complaint:
        n = next(_serial)
        intake = make_intake(summary=summary, description=description, contact_phone=f"136{n:08d}",
                             order_number=f"IX{n:06d}", product=f"型号X{n}")
        return actions.register(intake, by=org["clerk"]).complaint

    return _make


@pytest.fixture
def texts(make):
    return {
        "leak": make("楼下天花板漏水", "卫生间的水管漏水，楼下邻居投诉"),
        "rice": make("电饭煲不加热", "用了三天就不能加热"),
        "rude": make("店员态度差", "换鞋时店员不耐烦"),
        "one": make("门", "门坏了"),
    }


def _numbers(qs) -> set[str]:
    return set(qs.values_list("number", flat=True))


def test_search_index_finds_cjk_bigrams_unigrams_and_latin_words(texts):
    everything = Complaint.objects.all()
    assert _numbers(filter_text(everything, "漏水")) == {texts["leak"].number}
    assert _numbers(filter_text(everything, "不加热")) == {texts["rice"].number}
    assert _numbers(filter_text(everything, "楼下 水管")) == {texts["leak"].number}
    assert _numbers(filter_text(everything, "门")) == {texts["one"].number}
    assert _numbers(filter_text(everything, "漏水 加热")) == set()
    order = texts["leak"].order_number
    assert _numbers(filter_text(everything, order.lower())) == {texts["leak"].number}
    # Query syntax in the user's text is taken as text, never as tsquery/FTS5 operators.
    for hostile in ["漏水 |", "'漏水'", '"漏水', "漏水:*", "!漏水", "漏水 & (", "\\漏水"]:
        assert _numbers(filter_text(everything, hostile)) == {texts["leak"].number}, hostile


def test_search_index_works_inside_a_subquery_and_a_self_join(texts):
    """The filter names the column through Django, so it follows the table's alias."""
    matching = filter_text(Complaint.objects.all(), "漏水")
    assert _numbers(Complaint.objects.filter(pk__in=matching.values("pk"))) == {texts["leak"].number}
    assert _numbers(
        Complaint.objects.exclude(pk__in=filter_text(Complaint.objects.all(), "漏水").values("pk"))
    ) == {texts["rice"].number, texts["rude"].number, texts["one"].number}
    joined = filter_text(Complaint.objects.select_related("repeat_of"), "加热")
    assert _numbers(joined) == {texts["rice"].number}


def _plan(sql: str) -> str:
    """PostgreSQL's plan of ``sql`` as the index probe runs it (index and sequential scans off:
    on a table this small the planner would rather read it whole)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")
        cursor.execute("SET LOCAL enable_indexscan TO DEFAULT")
    return plan


def test_search_index_serves_the_filter(texts):
    """The query plan uses the index: on PostgreSQL the GIN index of the stored column
    ``search_vector``, not a vector rebuilt from the text row by row."""
    with CaptureQueriesContext(connection) as ran:
        qs = filter_text(Complaint.objects.all(), "楼下天花板")
    if connection.vendor == "postgresql":
        # The matches are looked up in the index first (search._few_matches), then read by id.
        probe = next(q["sql"] for q in ran.captured_queries if "search_vector @@" in q["sql"])
        plan = _plan(probe)
        assert "Bitmap Index Scan on complaint_search" in plan, plan
        assert "search_vector @@" in plan, plan
        assert "array_to_tsvector" not in plan, plan
        assert "Seq Scan on complaints_complaint" not in plan, plan
    else:
        plan = qs.explain()
        assert "complaint_fts VIRTUAL TABLE INDEX" in plan, plan
    assert _numbers(qs) == {texts["leak"].number}


def test_search_of_a_common_word_walks_the_newest_complaints(texts, monkeypatch):
    """Above ``FEW`` matches PostgreSQL filters the newest complaints row by row instead of
    reading every match from the index; the results are the same."""
    monkeypatch.setattr(search, "FEW", 0)
    assert _numbers(filter_text(Complaint.objects.all(), "楼下天花板")) == {texts["leak"].number}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the stored tsvector column is PostgreSQL's")
def test_the_stored_vector_follows_the_tokens(make):
    """``search_vector`` is computed by PostgreSQL on insert and on every change of the tokens,
    though nothing in Kesu writes it."""
    c = make("冰箱不制冷")
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector @@ '制冷'::tsquery FROM complaints_complaint WHERE id = %s", [c.pk])
        assert cursor.fetchone()[0] is True
    Complaint.objects.filter(pk=c.pk).update(search_tokens="结冰")
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM complaints_complaint WHERE id = %s", [c.pk])
        assert cursor.fetchone()[0] == "'结冰'"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search strategies are PostgreSQL's")
def test_list_search_finds_a_rare_and_a_common_word_from_the_stored_column(api, make, monkeypatch):
    """The list API with ``q``: a common word is checked against the stored vector while the
    list walks the newest complaints; a rare one is read from the GIN index by id. Each finds
    exactly its complaints, newest first, within the user's visibility (R-AX-1)."""
    # A page of 2 rather than 51: 4 matches of 6 complaints make a word common (walking meets a
    # page within 3 rows, the index reads 4 at INDEXED times the cost), one in 6 rare (walking
    # 12 rows against reading 1).
    monkeypatch.setattr(search, "PAGE", 2)
    common = [make("卫生间漏水") for _ in range(4)]
    rare = make("电饭煲不加热")
    make("店员态度差")

    def listed(q: str) -> tuple[list[str], str]:
        with CaptureQueriesContext(connection) as ran:
            r = api("manager").get("/complaints", {"q": q})
        assert r.status_code == 200, r.content
        statements = [x["sql"] for x in ran.captured_queries if "complaints_complaint" in x["sql"]]
        return [item["number"] for item in r.json()["items"]], "\n".join(statements)

    found, sql = listed("漏水")
    assert found == [c.number for c in reversed(common)]
    assert "ts_match_vq(" in sql and "search_vector" in sql and "array_to_tsvector" not in sql, sql
    assert "search_vector @@" not in sql, sql  # the index was not probed for it

    found, sql = listed("加热")
    assert found == [rare.number]
    probe = next(s for s in sql.split("\n") if "search_vector @@" in s)
    assert "Bitmap Index Scan on complaint_search" in _plan(probe), probe
    assert "= ANY(" in sql, sql  # the page read by the ids the index gave

    # A phrase whose bigrams each are common (and so rarer together) takes the same paths.
    assert listed("卫生间漏水")[0] == [c.number for c in reversed(common)]
    assert listed("卫生间漏")[0] == [c.number for c in reversed(common)]
    assert listed("漏水 加热")[0] == []
    # Whichever way is taken, it keeps to what the user may see (R-AX-1).
    for chosen in ("walk", "slice", "index"):
        monkeypatch.setattr(search, "way", lambda estimate, chosen=chosen, **_: chosen)
        assert numbers_of(api, "outsider", "漏水") == []
        assert numbers_of(api, "manager", "漏水") == [c.number for c in reversed(common)]


def numbers_of(api, who: str, q: str) -> list[str]:
    r = api(who).get("/complaints", {"q": q})
    assert r.status_code == 200, r.content
    return [item["number"] for item in r.json()["items"]]


def test_the_cheapest_way_is_chosen_for_common_rare_and_words_between():
    """The three ways priced as measured at a million complaints (bench/search_paths.py): a
    word in a fifth of the complaints is walked (a page within 255 rows), one in a hundred is
    read from the index, and one in 5,000 of a million, which costs 11–14 ms walked or read
    whole, through a slice of the index."""
    million = {"low": 1, "top": 1_000_000}
    assert search.way(search.Costs(walk=255, matches=200_000, **million)) == "walk"
    assert search.way(search.Costs(walk=21_250, matches=120, **million)) == "index"
    between = search.Costs(walk=21_250, matches=5_240, **million)
    assert search.way(between) == "slice"
    # Not for a word of several bigrams: the planner would not AND the two bitmaps (search.way).
    assert search.way(between, sliceable=False) == "index"  # the cheaper of the other two
    assert between.slice_rows == 42_500
    assert search.way(None) == "index"  # no match in the sample: the index, which may give up


def _pages(api, q: str) -> list[list[str]]:
    """Every page of the list's search for ``q``, following the cursors."""
    pages, cursor = [], None
    while True:
        params = {"q": q, "limit": 3} | ({"cursor": cursor} if cursor else {})
        r = api("manager").get("/complaints", params)
        assert r.status_code == 200, r.content
        pages.append([item["number"] for item in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return pages


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search strategies are PostgreSQL's")
def test_a_newest_first_page_read_through_a_slice_is_the_walks_page(api, make, monkeypatch):
    """The slice (search.newest_first) gives every page the walk gives, newest first, the
    cursor's pages too: when it holds a whole page, when it holds part of one (the rest is
    walked on below it, or read from the index when it held less than half) and when it
    holds none."""
    for i in range(5):
        make(f"店员态度差 {i}")
    matching = [make(f"洗衣机漏水 {i}") for i in range(7)]
    expected = [c.number for c in reversed(matching)]
    monkeypatch.setattr(search, "way", lambda estimate, **_: "walk")
    walked = _pages(api, "漏水")
    assert [n for page in walked for n in page] == expected
    monkeypatch.setattr(search, "way", lambda estimate, **_: "slice")
    for rows in (1, 2, 3, 8, 100):
        monkeypatch.setattr(search.Costs, "slice_rows", property(lambda self, rows=rows: rows))
        with CaptureQueriesContext(connection) as ran:
            assert _pages(api, "漏水") == walked, rows
        probes = [q["sql"] for q in ran.captured_queries if "search_vector @@" in q["sql"]]
        assert any('"complaints_complaint"."id" >' in sql for sql in probes), probes  # the slice
        below = [sql for sql in probes if '"complaints_complaint"."id" <=' in sql]
        # A slice of one row holds less than half a page: the rest from the index, not a walk;
        # one of every row holds every page.
        if rows in (1, 100):
            assert bool(below) == (rows == 1), (rows, probes)
    # Oldest first, the slice is not used (it is the newest): the walk's rows, reversed.
    r = api("manager").get("/complaints", {"q": "漏水", "sort": "id", "limit": 10})
    assert [item["number"] for item in r.json()["items"]] == list(reversed(expected))



def leaks_below_a_gap(make) -> list[str]:
    """20 complaints with 漏水, then 100,000 ids never used (a rolled-back import), then three
    without it; the numbers of the 20."""
    leaks = [make(f"热水器漏水{i}").number for i in range(20)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('complaints_complaint', 'id'), "
                       "(SELECT max(id) FROM complaints_complaint) + 100000)")
    for i in range(3):
        make(f"快递延误{i}")
    return leaks


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search strategies are PostgreSQL's")
def test_the_estimate_samples_the_newest_complaints_across_a_gap_in_the_ids(api, make):
    """A rolled-back import leaves its ids unused above the last complaint. The estimate still
    samples the newest complaints, not the empty ids (a sample of the gap finds no match, and
    sends a common word to the index), and the list still finds every match, newest first."""
    leaks = leaks_below_a_gap(make)
    estimate = search.costs(Complaint.objects.all(), search.tsquery(["漏水"]))
    assert estimate is not None and search.way(estimate) != "index"
    assert estimate.walk == pytest.approx(search.PAGE * 23 / 20)  # 20 matches in 23 complaints
    assert numbers_of(api, "clerk", "漏水") == leaks[::-1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search strategies are PostgreSQL's")
def test_a_slice_reaches_across_a_gap_in_the_newest_ids(api, make, monkeypatch):
    """The sample measures the gap among the newest ids, and the slice reaches that much
    further down: it holds its pages instead of coming up empty in the gap."""
    leaks = leaks_below_a_gap(make)
    monkeypatch.setattr(search, "NEWEST", 10)  # the sample: the newest ten, 7 leaks among them
    monkeypatch.setattr(search, "SMALLEST", 10)
    estimate = search.costs(Complaint.objects.all(), search.tsquery(["漏水"]))
    assert estimate.gap == 100_000 and estimate.slice_rows == round(search.SLICED * search.PAGE * 10 / 7)
    monkeypatch.setattr(search, "way", lambda estimate, **_: "slice")
    with CaptureQueriesContext(connection) as ran:
        r = api("manager").get("/complaints", {"q": "漏水", "limit": 3})
    assert [item["number"] for item in r.json()["items"]] == leaks[:-4:-1]
    probes = [q["sql"] for q in ran.captured_queries if "search_vector @@" in q["sql"]]
    assert not [sql for sql in probes if '"complaints_complaint"."id" <=' in sql], probes  # held
    assert [n for page in _pages(api, "漏水") for n in page] == leaks[::-1]
