"""Operating a replica: health checks, graceful drain and Prometheus metrics (docs/operations.md)."""
