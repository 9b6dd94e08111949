"""Bulk import: parsers that stream bank files into rows, and the job that applies them."""
