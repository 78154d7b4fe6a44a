"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this.

Times are integer microseconds since the epoch (portable, exact, sortable). Nested
lists (notification settings, attribute mappings, tags, role ARNs) are JSON: they are
always read and written with their resource, inside its row lock. ``seq`` is the
creation order and the keyset-pagination key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def _scoped(name: str, *columns: Column, extra: tuple = ()) -> Table:
    return Table(
        name, metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("account_id", String(12), nullable=False),
        Column("region", String(32), nullable=False),
        *columns,
        Column("tags", JSON, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        Index(f"ix_{name}_scope_seq", "account_id", "region", "seq"),
        *extra,
    )


accounts = Table(
    "accounts", metadata,
    Column("account_id", String(12), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

access_keys = Table(
    "access_keys", metadata,
    Column("access_key_id", String(128), primary_key=True),
    # sealed (storage/sealing.py): "rp-sealed:1:<kek id>:<base64>", never the secret itself
    Column("secret_access_key", String(512), nullable=False),
    Column("account_id", String(12), nullable=False, index=True),
    Column("principal_arn", String(2048), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

trust_anchors = _scoped(
    "trust_anchors",
    Column("name", String(255), nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("source_data", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("crl_dp_revocation_enabled", Boolean, nullable=False),
    Column("notification_settings", JSON, nullable=False),
    Column("alias_name", String(256)),
    #: AWS_ACM_PCA: the CA certificate read at the last create/update (migration 0007)
    Column("ca_snapshot", Text),
    extra=(UniqueConstraint("account_id", "region", "alias_name",
                            name="uq_trust_anchors_alias"),),
)

profiles = _scoped(
    "profiles",
    Column("name", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("require_instance_properties", Boolean, nullable=False),
    Column("session_policy", Text),
    Column("role_arns", JSON, nullable=False),
    Column("managed_policy_arns", JSON, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("accept_role_session_name", Boolean, nullable=False),
    Column("attribute_mappings", JSON, nullable=False),
    Column("created_by", String(2048), nullable=False),
    Column("alias_name", String(256)),
    #: trusted identity propagation: {"status", "subject_type", "subject_source"} or NULL
    Column("tip_configuration", JSON),
    extra=(UniqueConstraint("account_id", "region", "alias_name", name="uq_profiles_alias"),),
)

crls = _scoped(
    "crls",
    Column("trust_anchor_id", String(36),
           ForeignKey("trust_anchors.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("crl_data", LargeBinary, nullable=False),
    Column("alias_name", String(256)),
    extra=(UniqueConstraint("account_id", "region", "alias_name", name="uq_crls_alias"),),
)

subjects = _scoped(
    "subjects",
    Column("subject_key", String(64), nullable=False),
    Column("x509_subject", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("credentials", JSON, nullable=False),
    Column("instance_properties", JSON, nullable=False),
    extra=(UniqueConstraint("account_id", "region", "subject_key", name="uq_subjects_key"),),
)

# IAM is global: roles are per account, without a Region. Tags, inline policies
# (name -> document) and attached policy ARNs live in the row, like nested lists above.
iam_roles = Table(
    "iam_roles", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("role_id", String(128), nullable=False, unique=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000)),
    Column("max_session_duration", Integer, nullable=False),
    Column("permissions_boundary", String(2048)),
    Column("tags", JSON, nullable=False),
    Column("inline_policies", JSON, nullable=False),
    Column("attached_policies", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("max_signin_session_duration", Integer),
    UniqueConstraint("account_id", "name_key", name="uq_iam_roles_name"),
)

# Operations beside requests (roleport/ops). A lease names the one process (of all workers
# and replicas on this database) that runs a periodic job, until ``expires_at`` (micros).
leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# Expiry notifications: one row per (event key, UTC day), claimed before it is sent, so a
# certificate is notified at most once a day per threshold across replicas and restarts.
notification_deliveries = Table(
    "notification_deliveries", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_key", String(256), nullable=False),
    Column("day", String(10), nullable=False),
    Column("event", JSON, nullable=False),
    #: pending (claimed, not yet sent), delivered, or failed (dead-lettered)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    UniqueConstraint("event_key", "day", name="uq_notification_deliveries_key_day"),
    Index("ix_notification_deliveries_status", "status"),
)
