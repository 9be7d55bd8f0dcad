"""Export jobs of batch predictions (the reference's ``kumoai.artifact_export.job``)."""

from relgraph.jobs.results import ArtifactExportJob, ArtifactExportResult

__all__ = ["ArtifactExportJob", "ArtifactExportResult"]
