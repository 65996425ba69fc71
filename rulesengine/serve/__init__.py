"""``rulesengine serve``: the web workbench and the JSON API over a folder of rulesets."""

from __future__ import annotations

from .app import create_app, needs_token, new_token

__all__ = ["create_app", "needs_token", "new_token"]
