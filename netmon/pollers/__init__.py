"""Pollers: ICMP ping and SNMP, each turning a target into Samples; failure is data."""
