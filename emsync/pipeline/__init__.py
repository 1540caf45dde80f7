"""The pipeline's plumbing: stage declarations (stages), the flow entry (flowkit), the run guard and
the run's Prefect server, deployments, the `inputs` check, data checks, the DuckDB store, the
reports index and `emsync status`. Library code of the stages lives in the domain packages."""
