"""Test-wide settings.

Hypothesis runs derandomized by default so that a CI run (and the README's
test command) is reproducible: a failure replays identically. Explore new
examples with ``python -m pytest --hypothesis-profile=explore``.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
settings.load_profile("default")
