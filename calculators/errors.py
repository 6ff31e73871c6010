"""The error hierarchy: each error is also a ``ValueError`` so callers that only know builtins still catch it."""

from __future__ import annotations


class RackscaleError(Exception):
    """Base of every error Rackscale raises on purpose."""


class CatalogError(RackscaleError, ValueError):
    """A catalog file or entry is invalid; ``problems`` lists every problem found, each naming file, line and field."""

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioError(RackscaleError, ValueError):
    """A scenario input (an id, a target, an override) is invalid; the message names the input and its value."""
