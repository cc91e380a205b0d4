"""The HTTP server: /metrics, health checks and the read-only JSON API."""
