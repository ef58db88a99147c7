"""Jinja -> MJML -> HTML -> inlined CSS, once per campaign and language.

Per-recipient values never reach this module: templates write placeholders (``personal(...)``)
and ``postduif.message`` fills them in per recipient afterwards, so the costly steps
here run once per email, not once per recipient.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
import jinja2
import markupsafe
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from mjml import mjml2html

from postduif.errors import ConfigError, RenderError
from postduif.render.model import EmailContext, Event, Rendered
from postduif.render.personal import placeholder
from postduif.render.strings import load_strings
from postduif.render.text import html_to_text, wrap

_LAYOUT = "layout"
_HTML_SUFFIX = ".mjml.j2"
_TEXT_SUFFIX = ".txt.j2"
_BLANK_LINES = re.compile(r"\n{3,}")


class Renderer:
    """Renders an :class:`EmailContext` with the templates in one directory."""

    def __init__(self, templates_dir: Path, *, timezone: str = "Europe/Amsterdam") -> None:
        self.templates_dir = templates_dir
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {timezone!r}",
                              hint="use an IANA name such as Europe/Amsterdam") from None
        self.strings = load_strings(templates_dir / "strings.toml")
        self.env = self._environment()
        self.inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)

    def templates(self) -> list[str]:
        """Names of the email templates that have both an MJML and a text version."""
        names = {path.name.removesuffix(_HTML_SUFFIX)
                 for path in self.templates_dir.glob("*" + _HTML_SUFFIX)}
        return sorted(name for name in names - {_LAYOUT}
                      if (self.templates_dir / (name + _TEXT_SUFFIX)).is_file())

    def render(self, ctx: EmailContext) -> Rendered:
        """Render the HTML and text parts of ``ctx``; placeholders stay in place."""
        source = self.mjml_source(ctx)
        html = self._inline_css(self._compile_mjml(source, ctx.template))
        text = _tidy(self._render_template(ctx.template + _TEXT_SUFFIX, ctx))
        t = self.strings[ctx.lang]
        langs = _section_langs(ctx)
        return Rendered(
            lang="+".join(langs) if len(langs) > 1 else ctx.lang,
            subject=ctx.subject,
            preheader=ctx.preheader,
            html=html,
            text=text,
            greeting_named=str(t["greeting_named"]),
            greeting_anonymous=str(t["greeting_anonymous"]),
        )

    def mjml_source(self, ctx: EmailContext) -> str:
        """The MJML document Jinja makes for ``ctx``, before compiling (also for cross-checks)."""
        self._check(ctx)
        return self._render_template(ctx.template + _HTML_SUFFIX, ctx)

    # -- steps ------------------------------------------------------------------------------

    def _environment(self) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.templates_dir),
            autoescape=lambda name: name is not None and name.endswith(_HTML_SUFFIX),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.globals["personal"] = placeholder
        env.filters["when"] = self._format_start
        env.filters["event_when"] = self._format_event_time
        env.filters["text"] = html_to_text
        env.filters["wrap"] = wrap
        env.filters["fill"] = _fill
        env.tests["url"] = _is_url
        return env

    def _check(self, ctx: EmailContext) -> None:
        if ctx.template not in self.templates():
            raise RenderError(f"no email template {ctx.template!r}", path=self.templates_dir,
                              hint="available: " + ", ".join(self.templates()))
        if ctx.template == "newsletter" and not ctx.sections:
            raise RenderError("a newsletter needs at least one section")
        for lang in (ctx.lang, *_section_langs(ctx)):
            if lang not in self.strings:
                raise RenderError(f"no interface strings for language {lang!r}",
                                  path=self.templates_dir / "strings.toml",
                                  hint=f"add a [{lang}] table")

    def _render_template(self, name: str, ctx: EmailContext) -> str:
        try:
            return self.env.get_template(name).render(self._variables(ctx))
        except RenderError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            path = Path(exc.filename) if exc.filename else self.templates_dir / name
            raise RenderError(f"template syntax: {exc.message}", path=path,
                              line=exc.lineno) from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template {exc.name!r} not found",
                              path=self.templates_dir) from None
        except Exception as exc:  # a template is user-editable: any failure in it is a user error
            path, line = self._template_location(exc, name)
            message = exc.message if isinstance(exc, jinja2.TemplateError) else repr(exc)
            raise RenderError(f"template failed: {message}", path=path, line=line) from None

    def _variables(self, ctx: EmailContext) -> dict[str, Any]:
        return {
            **{field: getattr(ctx, field) for field in ctx.__dataclass_fields__},
            "t": self.strings[ctx.lang],
            "strings": self.strings,
            "bilingual": len(_section_langs(ctx)) > 1,
            "footer_languages": _section_langs(ctx) if len(_section_langs(ctx)) > 1
            else [ctx.lang],
            "other_versions": list(self._other_versions(ctx)),
        }

    def _other_versions(self, ctx: EmailContext) -> Iterator[dict[str, str]]:
        """Links to the page in languages the email itself does not contain."""
        present = set(_section_langs(ctx))
        for section in ctx.sections:
            for lang, url in section.alternates.items():
                if lang not in present and url:
                    present.add(lang)
                    yield {"lang": lang, "url": url, "label": self._read_this_in(lang)}

    def _read_this_in(self, lang: str) -> str:
        if lang in self.strings:
            return str(self.strings[lang]["read_this_in"])
        try:  # a language without strings still gets its own name, e.g. "Deutsch"
            return str(Locale.parse(lang).get_display_name(lang))
        except (ValueError, UnknownLocaleError):
            return lang

    def _format_start(self, start: datetime, lang: str) -> str:
        if start.tzinfo is None or start.utcoffset() is None:
            raise RenderError(f"event time {start.isoformat()} has no time zone")
        pattern = self.strings[lang]["datetime_format"]
        return str(format_datetime(start, pattern, tzinfo=self.zone, locale=lang))

    def _format_event_time(self, event: Event, lang: str) -> str:
        """Start and end as a reader says them: "… 19:00 – 21:00", a date alone when all-day."""
        if event.all_day:
            pattern = self.strings[lang]["date_format"]
            days = [format_date(d.astimezone(self.zone).date(), pattern, locale=lang)
                    for d in (event.start, event.end) if d is not None]
            return " – ".join(days)
        start = self._format_start(event.start, lang)
        if event.end is None:
            return start
        if event.end.astimezone(self.zone).date() != event.start.astimezone(self.zone).date():
            return f"{start} – {self._format_start(event.end, lang)}"
        pattern = self.strings[lang]["time_format"]
        end = format_datetime(event.end, pattern, tzinfo=self.zone, locale=lang)
        return f"{start} – {end}"

    def _template_location(self, exc: BaseException, name: str) -> tuple[Path, int | None]:
        """The innermost template file and line in the traceback (Jinja rewrites its frames)."""
        root = self.templates_dir.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if path.suffix == ".j2" and path.resolve().is_relative_to(root):
                return path, frame.lineno
        return self.templates_dir / name, None

    def _compile_mjml(self, source: str, template: str) -> str:
        try:
            return compile_mjml(source)
        except ValueError as exc:
            raise RenderError(f"MJML did not compile: {exc}",
                              path=self.templates_dir / (template + _HTML_SUFFIX)) from None

    def _inline_css(self, html: str) -> str:
        try:
            return str(self.inliner.inline(html))
        except css_inline.InlineError as exc:
            raise RenderError(f"CSS inlining failed: {exc}") from None


def compile_mjml(source: str) -> str:
    """MJML to HTML with mjml-python; raises ValueError on MJML it cannot parse.

    ``fonts={}``: no web-font links (a privacy leak and a slow load); the layout uses the
    reader's system fonts.
    """
    return str(mjml2html(source, fonts={}))


def _section_langs(ctx: EmailContext) -> list[str]:
    return list(dict.fromkeys(section.lang for section in ctx.sections))


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@jinja2.pass_eval_context
def _fill(eval_ctx: jinja2.nodes.EvalContext, pattern: str, **values: object) -> str:
    """Fill the ``{slot}`` fields of an interface string.

    In HTML templates the string is escaped and so is every value that is not already markup,
    so a slot can take a link built in the template (``{% set link %}<a ...>{% endset %}``).
    """
    if eval_ctx.autoescape:
        return markupsafe.escape(pattern).format(**values)
    return pattern.format(**values)


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip("\n") + "\n"

