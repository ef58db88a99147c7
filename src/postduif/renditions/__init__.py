"""Email renditions: light JPEG or PNG copies of the site's heavy, wide or WebP images.

The email links an image's rendition instead of the original when the original is wider
than twice the width the email shows it at, heavier than ``[images] budget_kb``, or WebP
(which desktop Outlook does not show). Renditions are written into the Hugo site's
``static/`` tree (``[images] renditions_dir``), so the site's next deploy publishes them.

``pillow.py`` makes one (the only importer of Pillow) by the numbers in ``recipe.py``,
``folder.py`` names, finds and writes them, ``pages.py`` points a page's images at them,
``weight.py`` weighs an email's images.
"""

from postduif.renditions.folder import Renditions
from postduif.renditions.model import EmailImage, Rendition
from postduif.renditions.pages import PageImages, page_images
from postduif.renditions.weight import ImageWeight, size_text

__all__ = ["EmailImage", "ImageWeight", "PageImages", "Rendition", "Renditions", "page_images",
           "size_text"]
