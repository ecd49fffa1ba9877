"""HTML pages from Jinja2 template files (labgen/templates/*.html.j2), autoescaped, with their
CSS file (labgen/templates/*.css) inlined so each page is one self-contained file that needs
nothing beside it (issue 16 §2: one way to make a page). Pure: context in, text out."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment():
    # StrictUndefined: a misspelt name in a template fails the render instead of printing "".
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def css(name: str):
    """The CSS file `name` (e.g. "sheet.css"), safe to inline in a <style> element."""
    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))


def render(template: str, **context) -> str:
    """Render labgen/templates/`template`; every value is escaped unless it is Markup."""
    return _environment().get_template(template).render(**context)
