"""netmon: network and infrastructure inventory monitor for a province's IT department."""

__version__ = "0.1.0"

__all__ = ["__version__"]
