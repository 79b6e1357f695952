"""R-CL-2: suggest a category and a level from a complaint's text with admin-edited keyword rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Category, KeywordRule, keyword_list


@dataclass
class Suggestion:
    category: Category | None = None
    level: int | None = None
    matched: list[str] = field(default_factory=list)


def suggest(text: str) -> Suggestion:
    """The category of the heaviest matching rule and the highest level any matching rule names."""
    result = Suggestion()
    best_weight, best_category = -1, None
    haystack = text or ""
    # Plain values, not rule and category objects: every registration runs this over all
    # the rules, and only the winning category is needed as an object.
    rules = KeywordRule.objects.filter(active=True).values_list(
        "keywords", "category_id", "category__active", "level", "weight")
    for keywords, category_id, category_active, level, weight in rules:
        hits = [k for k in keyword_list(keywords) if k in haystack]
        if not hits:
            continue
        result.matched.extend(hits)
        if category_id is not None and category_active and weight > best_weight:
            best_category, best_weight = category_id, weight
        if level is not None:
            result.level = max(result.level or 0, level)
    if best_category is not None:
        result.category = Category.objects.get(pk=best_category)
    return result
