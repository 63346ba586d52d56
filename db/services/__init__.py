"""Services: each public method is one unit of work returning DTOs."""

from __future__ import annotations

from db.services.audit import AuditService
from db.services.claims import ClaimService
from db.services.inspections import InspectionService
from db.services.registry import ModelRegistryService
from db.services.reports import ReportService
from db.services.review import ReviewService
from db.services.rework import ReworkService
from db.services.shifts import ShiftService
from db.services.users import UserService

__all__ = [
    "AuditService",
    "ClaimService",
    "InspectionService",
    "ModelRegistryService",
    "ReportService",
    "ReviewService",
    "ReworkService",
    "ShiftService",
    "UserService",
]
