"""Installed package versions, for what ``/v1/models`` and ``pyai doctor`` say runs here."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version(name: str) -> str | None:
    """An installed distribution's version, or None."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None
