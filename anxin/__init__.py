"""Anxin (安心): watches over elderly people living at home."""

__version__ = "0.1.0"
