"""Unknot's Textual app."""
