"""Infrastructure indicators: definitions as data, computation per unit, level and period, exports."""
