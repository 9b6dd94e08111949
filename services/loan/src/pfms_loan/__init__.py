"""PFMS loan service."""
