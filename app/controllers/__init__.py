"""Controllers: QObjects between widgets and the database services.

Widgets call controller methods and listen to their signals; controllers run every
database call as a `FunctionTask` (never on the GUI thread) and emit DTOs.
"""
