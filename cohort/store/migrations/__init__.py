"""Alembic migrations of the store (env.py and versions/). Run by cohort.store.migrate."""
