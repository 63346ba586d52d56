"""One module per main-window tab (product.md §3).

Every screen is a QWidget with a `TITLE` and `set_session(session | None)`; screens
talk to controllers, never to the database.
"""
