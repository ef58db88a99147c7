"""Reading a Hugo site: configuration, pages in every language, and e-mail-safe HTML.

This package knows Hugo (layouts, front matter, shortcodes, permalinks) and nothing about mail
templates, campaigns or subscribers.
"""

from postduif.content.hugo_config import HugoConfig, read_hugo_config
from postduif.content.pages import Page
from postduif.content.render import PageHtml
from postduif.content.site import Site, load_site

__all__ = ["HugoConfig", "Page", "PageHtml", "Site", "load_site", "read_hugo_config"]
