"""Is what the emails show published? Their images and links, against Hugo's output or the site.

:func:`email_references` lists every image and link of a campaign's rendered emails with the
file and line that wrote it; :func:`check_folder` (offline, Hugo's ``public/``) and
:func:`check_online` (HTTP) look URLs up and say which are not there; :func:`verify_published`
turns the references into ``check``'s problems. The checks only read.
"""

from postduif.published.folder import check_folder
from postduif.published.online import check_online
from postduif.published.references import IMAGE, LINK, Reference, email_references
from postduif.published.report import PublishedReport, verify_published
from postduif.published.status import State, UrlStatus, not_published

__all__ = [
    "IMAGE",
    "LINK",
    "PublishedReport",
    "Reference",
    "State",
    "UrlStatus",
    "check_folder",
    "check_online",
    "email_references",
    "not_published",
    "verify_published",
]
