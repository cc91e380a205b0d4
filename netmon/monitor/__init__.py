"""Monitoring: poll rounds, the scheduler, and (later) state, outages and availability."""
