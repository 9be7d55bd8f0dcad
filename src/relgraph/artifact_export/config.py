"""``relgraph.artifact_export.config.OutputConfig`` (the reference's import path)."""

from relgraph.trainer.output import OutputConfig

__all__ = ["OutputConfig"]
