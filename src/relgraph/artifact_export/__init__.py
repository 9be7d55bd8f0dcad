"""Where a Kumo user imports output configuration and export jobs from
(``kumoai.artifact_export``); the classes live in :mod:`relgraph.trainer`."""

from relgraph.artifact_export.config import OutputConfig
from relgraph.artifact_export.job import ArtifactExportJob, ArtifactExportResult

__all__ = ["ArtifactExportJob", "ArtifactExportResult", "OutputConfig"]
