"""postduif: bilingual email campaigns from a Hugo site.

The library API is what ``__all__`` lists; the CLI in ``postduif.cli`` is a thin layer over it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("postduif")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["__version__"]
