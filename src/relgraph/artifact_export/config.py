"""``relgraph.artifact_export.config.OutputConfig`` (the reference's import path)."""

from relgraph.connector.output import OutputConfig

__all__ = ["OutputConfig"]
