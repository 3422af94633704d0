"""Problems discover and drift report to the user: one line naming what was asked and what to do."""

from __future__ import annotations


class DiscoverError(Exception):
    """Bad input or an AWS answer discover cannot use. str() is the one line shown; the command exits 2."""


class HclError(DiscoverError):
    """A Terraform file that does not parse, or a module discover cannot read."""
