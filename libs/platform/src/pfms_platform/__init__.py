"""Shared building blocks for every PFMS service."""
