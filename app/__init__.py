"""SolderNet Review application: the `soldernet` command and the Qt GUI."""

__version__ = "0.1.0"
