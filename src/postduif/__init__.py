"""postduif: bilingual email campaigns from a Hugo site.

The library API is what ``__all__`` lists (``tests/test_public_api.py`` keeps it honest); the
CLI in ``postduif.cli`` is a thin layer over it. The pipeline, in order::

    Workspace -> load_site / plan -> Renderer -> MessageTemplate / Composer -> deliver
"""

from importlib.metadata import PackageNotFoundError, version

from postduif.build import build_campaign
from postduif.check import check_plan, check_site
from postduif.content import load_site
from postduif.errors import PostduifError
from postduif.joins import import_joins
from postduif.listmonk import migrate_listmonk
from postduif.message import MessageTemplate
from postduif.render import Renderer
from postduif.send import (
    MemoryTransport,
    SmtpTransport,
    deliver,
    ledger_status,
    start_campaign,
    write_outbox,
)
from postduif.store import Store
from postduif.workspace import Workspace

try:
    __version__ = version("postduif")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
    "MemoryTransport",
    "MessageTemplate",
    "PostduifError",
    "Renderer",
    "SmtpTransport",
    "Store",
    "Workspace",
    "__version__",
    "build_campaign",
    "check_plan",
    "check_site",
    "deliver",
    "import_joins",
    "ledger_status",
    "load_site",
    "migrate_listmonk",
    "start_campaign",
    "write_outbox",
]
