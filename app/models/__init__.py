"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from app.models.admin import AdminAccount, AdminRole
from app.models.audit import AuditEntry
from app.models.case import (
    Case,
    CaseMaterial,
    CaseNode,
    CaseRating,
    CaseSerial,
    Rectification,
    Upload,
)
from app.models.catalog import (
    Bundle,
    BundleItem,
    CatalogVersion,
    Favorite,
    ItemRegion,
    RecentVisit,
    Region,
    ServiceItem,
    ServiceMaterial,
    Synonym,
    Theme,
)
from app.models.certificate import (
    Certificate,
    CertificateAccess,
    CertificateType,
    Presentation,
    SigningKeyRecord,
)
from app.models.enterprise import Enterprise, EnterpriseBinding
from app.models.event import DomainEvent
from app.models.integration import IntegrationEvent
from app.models.push import PushMessageState, PushRule, PushRun
from app.models.push_delivery import PushSend, SubscriptionCredit
from app.models.session import AuthSession
from app.models.tag import PushPreference, TagChange, TagDefinition, TagDispute, TagMembership
from app.models.user import User

__all__ = [
    "AdminAccount",
    "AdminRole",
    "AuditEntry",
    "AuthSession",
    "Bundle",
    "BundleItem",
    "Case",
    "CaseMaterial",
    "CaseNode",
    "CaseRating",
    "CaseSerial",
    "CatalogVersion",
    "Certificate",
    "CertificateAccess",
    "CertificateType",
    "DomainEvent",
    "Enterprise",
    "EnterpriseBinding",
    "Favorite",
    "IntegrationEvent",
    "ItemRegion",
    "Presentation",
    "PushMessageState",
    "PushPreference",
    "PushRule",
    "PushRun",
    "PushSend",
    "RecentVisit",
    "Rectification",
    "Region",
    "ServiceItem",
    "ServiceMaterial",
    "SigningKeyRecord",
    "SubscriptionCredit",
    "Synonym",
    "TagChange",
    "TagDefinition",
    "TagDispute",
    "TagMembership",
    "Theme",
    "Upload",
    "User",
]
