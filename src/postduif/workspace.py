"""One workspace: its settings, its site, its renderer and its campaigns, loaded once.

The CLI, the build, the checks and the preview all go through a :class:`Workspace`, so they
read content the same way. The preview keeps one alive and calls :meth:`Workspace.reload` when
a file changes; the Hugo site is re-read, the Jinja environment is rebuilt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from postduif.campaign import Campaign, Plan, load_campaign, plan_campaign, resolve_campaign
from postduif.config import Settings, find_workspace, load_settings
from postduif.content import Site, load_site
from postduif.lists import ListDef, load_list
from postduif.render import Rendered, Renderer
from postduif.renditions import Renditions


class Workspace:
    def __init__(self, settings: Settings, *, feed_max_age: timedelta | None = None) -> None:
        self.settings = settings
        self.feed_max_age = feed_max_age  # reuse a fetched calendar feed younger than this

    @classmethod
    def open(cls, path: Path | None = None) -> Workspace:
        """The workspace at ``path``, or the one found from the current directory upwards."""
        root = find_workspace(path or Path.cwd())
        return cls(load_settings(root))

    @cached_property
    def site(self) -> Site:
        return load_site(self.settings.site_dir, base_url=self.settings.base_url,
                         snippets_dir=self.settings.templates_dir / "snippets",
                         timezone=self.settings.timezone)

    @cached_property
    def renderer(self) -> Renderer:
        return Renderer(self.settings.templates_dir, timezone=self.settings.timezone)

    @cached_property
    def renditions(self) -> Renditions:
        """Kept over :meth:`reload`: a rendition is named by its source's bytes, so one made
        before a change is still right for an unchanged image."""
        return Renditions(self.settings.images, self.settings.build_dir / "renditions")

    def reload(self) -> None:
        """Forget everything read from disk; the next access reads it again."""
        for name in ("site", "renderer"):
            self.__dict__.pop(name, None)

    def campaign(self, name_or_path: str) -> Campaign:
        return load_campaign(resolve_campaign(self.settings, name_or_path))

    def list_def(self, name: str) -> ListDef:
        return load_list(self.settings.lists_dir, name)

    def plan(self, campaign: Campaign, *, now: datetime | None = None) -> Plan:
        return plan_campaign(campaign, self.site, self.settings, self.list_def(campaign.list),
                             now=now, feed_max_age=self.feed_max_age,
                             renditions=self.renditions)

    def make_renditions(self, plan: Plan) -> list[Path]:
        """Write the email renditions ``plan`` links that are not on disk yet (``build``,
        ``send`` and ``preview`` do; ``check`` only reads); the files written."""
        return self.renditions.write(plan.renditions)

    def render(self, plan: Plan) -> dict[str, Rendered]:
        """Compile each variant once: MJML and CSS inlining happen here, never per recipient."""
        return {key: self.renderer.render(v.context) for key, v in plan.variants.items()}
