"""The backend contract suite: one set of tests run against every `Backend` (see suite.py)."""
