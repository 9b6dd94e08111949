"""PFMS group service."""
