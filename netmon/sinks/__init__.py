"""Outputs of the monitor: Prometheus metrics and MQTT events."""
