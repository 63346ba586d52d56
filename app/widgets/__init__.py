"""Reusable widgets and dialogs (no database access; DTOs in, signals out)."""
