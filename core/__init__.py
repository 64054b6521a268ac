"""Shared foundations: the typed settings object and the offline guard."""
