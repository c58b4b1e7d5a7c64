"""Helpers for tests: seeded stores, and real servers started for one test."""
