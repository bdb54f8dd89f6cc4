"""The domain: SQLAlchemy models and the pure rules. Imports nothing from webapp/ or workflows/."""

from models.db import db
from models.org import LoginAttempt, OrgKind, OrgUnit, Role, User, UserRole
from models.scheme import (
    Dimension,
    Indicator,
    IndicatorCoOwner,
    KeyPoint,
    Level,
    Scheme,
    SchemeYear,
    YearStatus,
)
from models.workflow import (
    ApiToken,
    AuditEvent,
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "InboxTask",
    "InstanceStatus",
    "ProcessDefinition",
    "ProcessInstance",
    "TaskStatus",
    "Dimension",
    "Indicator",
    "IndicatorCoOwner",
    "KeyPoint",
    "Level",
    "LoginAttempt",
    "OrgKind",
    "OrgUnit",
    "Role",
    "Scheme",
    "SchemeYear",
    "User",
    "UserRole",
    "YearStatus",
    "db",
]
