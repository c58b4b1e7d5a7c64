"""Training of the shipped models (needs the ``training`` extra; never imported at run time)."""
