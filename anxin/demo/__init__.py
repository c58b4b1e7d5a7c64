"""``anxin demo``: the whole platform on embedded defaults with simulated homes."""
