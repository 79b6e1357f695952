"""A form renderer that draws the plain ``<input>`` and ``<textarea>`` widgets in Python.

Django draws every widget through its template engine (the widget's template includes
``input.html``, which includes ``attrs.html``): about 0.15 ms a field. An open complaint's page
has fifteen step forms with some fifty fields, so that was the largest single cost of the page.
The widgets still build their context in Python (``Widget.get_context``: value formatting,
``checked``, ``required``, the ids); only the last step, the template, is replaced here by the
same markup written out. Every other template (selects, errors, radio lists) goes to Django's
renderer unchanged. ``tests/test_pages.py`` checks the output against Django's own for every
field of every step form."""

from __future__ import annotations

import html
from typing import Any

from django.forms.renderers import BaseRenderer, get_default_renderer

# Widget templates that are nothing but ``{% include "django/forms/widgets/input.html" %}``.
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "number", "email", "url", "password", "date", "datetime", "time",
                 "checkbox", "file", "hidden", "search", "tel", "color")
)
TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"


def escape(value: Any) -> str:
    """What ``{{ value }}`` writes under autoescape (safe strings are left as they are): Django's
    ``conditional_escape`` without its lazy-string wrapper, a third of its time per call."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``: False leaves the attribute out, True writes its bare name."""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in attrs.items() if value is not False
    )


def input_html(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{escape(value)}"'
    return f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def textarea_html(widget: dict[str, Any]) -> str:
    value = widget["value"]
    return (f'<textarea name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
            f'{escape(value) if value else ""}</textarea>')


class QuickRenderer(BaseRenderer):
    """Pass as ``renderer=`` to a form (``dispatch.build`` does for the step forms)."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        if template_name == TEXTAREA_TEMPLATE:
            return textarea_html(context["widget"])
        return get_default_renderer().render(template_name, context, request)

    def get_template(self, template_name: str) -> Any:
        return get_default_renderer().get_template(template_name)


QUICK = QuickRenderer()
