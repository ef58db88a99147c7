"""The names in ``postduif.__all__`` are exactly the public names the package exports."""

from __future__ import annotations

import postduif


def test_all_is_sorted_and_complete() -> None:
    assert postduif.__all__ == sorted(postduif.__all__)
    public = {name for name in vars(postduif) if not name.startswith("_")
              and not isinstance(getattr(postduif, name), type(postduif))}
    assert public - {"PackageNotFoundError", "version"} == set(postduif.__all__) - {"__version__"}


def test_every_name_is_importable() -> None:
    for name in postduif.__all__:
        assert getattr(postduif, name) is not None, name
