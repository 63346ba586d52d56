"""SolderNet inference: detector, classifier, explainer, metrics. No Qt, no database.

Heavy submodules (torch) are imported by their users, not here, so that light modules
such as `inference.types` stay cheap to import (the database layer uses them).
"""
