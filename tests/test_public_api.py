"""The names in ``postduif.__all__`` are exactly the public names the package exports."""

from __future__ import annotations

import pytest

import postduif


def test_all_is_sorted_and_complete() -> None:
    """The names are imported on first use (PEP 562), so ``dir``, not ``vars``, lists them."""
    assert postduif.__all__ == sorted(postduif.__all__)
    public = {name for name in dir(postduif) if not name.startswith("_")
              and not isinstance(getattr(postduif, name), type(postduif))}
    assert public == set(postduif.__all__) - {"__version__"}


def test_every_name_is_importable() -> None:
    for name in postduif.__all__:
        assert getattr(postduif, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Renderers'"):
        postduif.Renderers  # noqa: B018
