"""PFMS notification service."""
