"""postduif: bilingual email campaigns from a Hugo site.

The library API is what ``__all__`` lists (``tests/test_public_api.py`` keeps it honest); the
CLI in ``postduif.cli`` is a thin layer over it. The pipeline, in order::

    Workspace -> load_site / plan -> Renderer -> MessageTemplate / Composer -> deliver

Each name is imported when it is first used (PEP 562 ``__getattr__``), not with the package:
every ``postduif`` command imports this package, and ``postduif --version`` should not pay for
Jinja, MJML, DKIM and SMTP that only ``build`` and ``send`` need.
"""

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:  # the same names, for type checkers and editors
    from postduif.audience.joins import import_joins
    from postduif.audience.listmonk import migrate_listmonk
    from postduif.build import build_campaign
    from postduif.check import check_plan, check_site
    from postduif.content import load_site
    from postduif.errors import PostduifError
    from postduif.message import MessageTemplate
    from postduif.published import check_folder, check_online, email_references, verify_published
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

# The one place the version is written: pyproject.toml reads it from here (setuptools' attr:),
# and ``postduif --version`` prints it without importlib.metadata's cost.
__version__ = "0.1.0"

# Each public name and the module it comes from.
_SOURCES = {
    "MemoryTransport": "postduif.send",
    "MessageTemplate": "postduif.message",
    "PostduifError": "postduif.errors",
    "Renderer": "postduif.render",
    "SmtpTransport": "postduif.send",
    "Store": "postduif.store",
    "Workspace": "postduif.workspace",
    "build_campaign": "postduif.build",
    "check_folder": "postduif.published",
    "check_online": "postduif.published",
    "check_plan": "postduif.check",
    "check_site": "postduif.check",
    "deliver": "postduif.send",
    "email_references": "postduif.published",
    "import_joins": "postduif.audience.joins",
    "ledger_status": "postduif.send",
    "load_site": "postduif.content",
    "migrate_listmonk": "postduif.audience.listmonk",
    "start_campaign": "postduif.send",
    "verify_published": "postduif.published",
    "write_outbox": "postduif.send",
}

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
    "check_folder",
    "check_online",
    "check_plan",
    "check_site",
    "deliver",
    "email_references",
    "import_joins",
    "ledger_status",
    "load_site",
    "migrate_listmonk",
    "start_campaign",
    "verify_published",
    "write_outbox",
]


def __getattr__(name: str) -> object:
    """Import a public name on first use and keep it, so the next lookup is a plain one."""
    if name not in _SOURCES:
        raise AttributeError(f"module 'postduif' has no attribute {name!r}")
    value = getattr(_import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

