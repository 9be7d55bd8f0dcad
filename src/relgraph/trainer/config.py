"""``relgraph.trainer.config.OutputConfig``: the import path of Kumo SDK 1.3 and older
(newer scripts use :mod:`relgraph.artifact_export.config`)."""

from relgraph.connector.output import OutputConfig

__all__ = ["OutputConfig"]
