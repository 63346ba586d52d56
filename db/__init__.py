"""Inspection database: SQLAlchemy 2.0 models, Alembic migrations and services.

No Qt and no torch here. Services own their transactions and return plain dataclasses.
"""
