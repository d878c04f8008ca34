"""Adapters over any embedding model."""
