"""R-CL-2: suggest a category and a level from a complaint's text with admin-edited keyword rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from kesu.lib.revisions import Kept, Signature

from .models import Category, KeywordRule, keyword_list


@dataclass
class Suggestion:
    category: Category | None = None
    level: int | None = None
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    keywords: list[str]
    category_id: int | None  # only if the category is active
    level: int | None
    weight: int


@dataclass(frozen=True)
class Catalogue:
    """The active keyword rules (as plain values, heaviest first) and every category, kept per
    process under the reference data's signature (kesu/lib/revisions.py): every registration
    runs over all the rules and needs one category, and both change a few times a year. The
    Category objects are shared by the requests of the process and never changed."""

    rules: list[Rule]
    by_id: dict[int, Category]
    by_code: dict[str, Category]

    def active(self, code: str) -> Category | None:
        """The category a clerk may choose by this code: None if unknown or retired."""
        found = self.by_code.get(code)
        return found if found is not None and found.active else None


def catalogue(signature: Signature | None = None) -> Catalogue:
    """The catalogue as of ``signature`` (read now unless given): an administrator's edit, in
    any process, applies to the next registration."""
    return _kept.get(signature)


def _build() -> Catalogue:
    rows = KeywordRule.objects.filter(active=True).values_list(
        "keywords", "category_id", "category__active", "level", "weight")
    rules = [Rule(keyword_list(keywords), category_id if active else None, level, weight)
             for keywords, category_id, active, level, weight in rows]
    categories = list(Category.objects.all())
    return Catalogue(rules, {c.pk: c for c in categories}, {c.code: c for c in categories})


_kept: Kept[Catalogue] = Kept(_build)


def suggest(text: str, *, signature: Signature | None = None, known: Catalogue | None = None) -> Suggestion:
    """The category of the heaviest matching rule and the highest level any matching rule names.
    A registration passes the signature it read for its transaction; a bulk caller (the legacy
    import) the catalogue it read once for its run."""
    known = known or catalogue(signature)
    result = Suggestion()
    best_weight, best_category = -1, None
    haystack = text or ""
    for rule in known.rules:
        hits = [k for k in rule.keywords if k in haystack]
        if not hits:
            continue
        result.matched.extend(hits)
        if rule.category_id is not None and rule.weight > best_weight:
            best_category, best_weight = rule.category_id, rule.weight
        if rule.level is not None:
            result.level = max(result.level or 0, rule.level)
    if best_category is not None:
        result.category = known.by_id[best_category]
    return result
