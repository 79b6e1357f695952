"""The Chinese full-text index (migration 0004, complaints/search.py) on both databases: the
search filter has the shape the index serves, and finds CJK bigram tokens.

PostgreSQL: a GIN index on ``array_to_tsvector(string_to_array(search_tokens, ' '))``.
SQLite: the FTS5 table ``complaint_fts``.
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


def test_search_index_serves_the_filter(texts):
    """The query plan uses the index. PostgreSQL picks a sequential scan on a table this small,
    so it is told not to; the index is used only if the filter's expression matches the index's
    expression exactly."""
    with CaptureQueriesContext(connection) as ran:
        qs = filter_text(Complaint.objects.all(), "楼下天花板")
    if connection.vendor == "postgresql":
        # The matches are looked up in the index first (search._few_matches), then read by id.
        probe = next(q["sql"] for q in ran.captured_queries if "array_to_tsvector" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("EXPLAIN " + probe)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "complaint_search" in plan, plan
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
