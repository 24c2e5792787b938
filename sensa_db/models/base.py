"""Declarative base, naming convention and the column helpers every table shares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, FetchedValue, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The convention reproduces PostgreSQL's own default names (users_pkey,
# users_email_key, user_profiles_user_id_fkey, chapters_complexity_score_check),
# so constraints the design leaves unnamed get exactly the names its DDL would
# give them, and autogenerate never has to emit a constraint without a name.
# Names the design does give (unique_user_profile, no_self_reference) are
# passed with conv() and kept verbatim.
NAMING_CONVENTION: dict[str, str] = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "ix": "idx_%(table_name)s_%(column_0_N_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


STRICTER_INFO_KEY = "stricter_than_design"


def stricter(reason: str) -> dict[str, Any]:
    """Column ``info`` marking a deliberate departure from the design's DDL.

    The schema-conformance test allows exactly the departures marked this way,
    and docs/SCHEMA.md lists them with their reasons.
    """
    return {STRICTER_INFO_KEY: reason}


DEPARTURE_INFO_KEY = "departs_from_design"


DROPPED_CONSTRAINTS_INFO_KEY = "drops_design_constraints"


def departs_from_design(reason: str, *, dropping: tuple[str, ...] = ()) -> dict[str, Any]:
    """Table or index ``info`` for a deliberate change of the design's shape: an index
    defined differently, a table ``dropping`` the design's constraints of those names.
    The conformance test allows exactly these changes, docs/SCHEMA.md gives the reason."""
    info: dict[str, Any] = {DEPARTURE_INFO_KEY: reason}
    if dropping:
        info[DROPPED_CONSTRAINTS_INFO_KEY] = dropping
    return info


SERVES_INFO_KEY = "serves"


def serves(query: str) -> dict[str, Any]:
    """Index ``info`` naming the query an index beyond the design exists for."""
    return {SERVES_INFO_KEY: query}


BEYOND_DESIGN_INFO_KEY = "beyond_design"


def beyond_design(reason: str) -> dict[str, Any]:
    """Column or table ``info`` for one the design does not have, with the reason.

    These marks, ``serves(...)`` on indexes and enums.VALUES_BEYOND_DESIGN are
    where the schema may grow past the design: the conformance test allows
    exactly what they mark, and docs/SCHEMA.md lists it with the reasons.
    """
    return {BEYOND_DESIGN_INFO_KEY: reason}


OWNER_IN_JOIN_INDEX = (
    "the design's index on the join column also carries (INCLUDE) user_id and the columns the"
    " joins read, so that a learner's join through it is an index-only scan: row-level"
    " security's user_id filter is answered from the index, not from each row's heap page"
)


NOT_NULL_DEFAULT = "the design gives a default but allows NULL; a NULL here has no meaning"
NOT_NULL_OWNER = (
    "the design allows NULL; a row without its owner would be orphaned"
    " and invisible to row-level security"
)


def uuid_primary_key() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )


def created_at_column() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
        info=stricter(NOT_NULL_DEFAULT),
    )


def bool_column(default: bool) -> Mapped[bool]:
    return mapped_column(
        nullable=False,
        server_default=text("true" if default else "false"),
        info=stricter(NOT_NULL_DEFAULT),
    )


CONCEPT_MAP_OWNER_COMMENT = (
    "the learner who owns the row, copied from its parent by the"
    " inherit_owner_from_* triggers; row-level security filters on it"
)


def concept_map_owner_column() -> Mapped[uuid.UUID]:
    """``user_id`` on the tables below courses: never written by the ORM.

    The database stamps it from the row's parent on every insert and every
    change of parent (sensa_db/triggers/ownership.sql), and the learner
    policies compare it with the request context; ``FetchedValue`` tells the ORM
    to read it back rather than send it. No foreign key to users: the value is
    derived from a parent that already has one, and users' cascade reaches the
    row through that parent.
    """
    return mapped_column(
        UUID(as_uuid=True),
        nullable=False,
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
        comment=CONCEPT_MAP_OWNER_COMMENT,
        info=beyond_design("stamped for row-level security"),
    )


class CreatedAtMixin:
    created_at: Mapped[datetime] = created_at_column()


class TimestampsMixin(CreatedAtMixin):
    """``updated_at`` is maintained by the update_updated_at_column() trigger, not by the ORM,
    so that writes from SQL, the worker and the API all agree."""

    updated_at: Mapped[datetime] = created_at_column()
