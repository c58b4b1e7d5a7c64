"""Validation of the detectors on the public reference recordings, for ``anxin bench analytics``."""
