"""``rulesengine serve``: the web workbench and the JSON API over a folder of rulesets."""

from __future__ import annotations

__all__ = ["create_app", "needs_token", "new_token"]


def __getattr__(name: str):
    """The web application loads (FastAPI with it) only when asked for: the CLI imports the ledger
    modules of this package on every start (``run`` records its runs)."""
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
