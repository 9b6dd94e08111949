"""PFMS market-data service."""
