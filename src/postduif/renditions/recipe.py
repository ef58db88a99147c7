"""The numbers of the rendition recipe (``pillow.py`` follows them), apart from Pillow, so that
naming a rendition does not import it: Pillow loads only when a rendition is made."""

from __future__ import annotations

#: 64 megapixels: an 8000 x 8000 photo, three times a 24 MP camera's. Decoding takes about
#: 4 bytes a pixel, so this bounds one rendition at about 256 MB of memory.
MAX_PIXELS = 64_000_000
#: JPEG qualities tried in turn until the rendition is within the budget.
QUALITIES = (85, 75, 65, 55)
#: Then the width, as a share of the width asked for (twice the shown width): 2x, 1.5x, 1x.
WIDTH_STEPS = (1.0, 0.75, 0.5)
#: Part of every rendition's name: change the version when ``pillow.py`` makes renditions
#: differently, so every one gets a new name instead of an old file being reused.
RECIPE = f"1 q={QUALITIES} w={WIDTH_STEPS} max={MAX_PIXELS}"
