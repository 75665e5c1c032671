"""Finding, listing, referencing and saving any entity: the machinery every entity shares.

``save`` checks and applies field values, settles the ref and writes the entity; nothing is
kept if a check fails.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from service.intake.entities.fields import MAX_ID

E = TypeVar("E", bound=m.Base)


def entity_label(model: type[m.Base]) -> str:
    """An entity's kind in words: ``ImprovementInitiative`` -> "improvement initiative"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def get_entity(session: Session, model: type[E], entity_id: int) -> E:
    """The entity with this id, or NotFoundError naming its kind and id."""
    entity = session.get(model, entity_id) if 1 <= entity_id <= MAX_ID else None
    if entity is None:
        raise NotFoundError(f"{entity_label(model)} {entity_id} does not exist")
    return entity


class ListRequest(Protocol):
    """What a caller asks of a list: a page, and filters by column (None: no filter)."""

    limit: int
    offset: int

    def filters(self) -> Mapping[str, object]:
        """Column values the entities must have."""
        ...


@dataclass(frozen=True)
class Listing(Generic[E]):
    """One page of entities and how many there are in all."""

    items: list[E]
    total: int
    limit: int
    offset: int


_PARENT_KEYS: dict[type[m.Base], str] = {
    m.Network: "network_id",
    m.Organisation: "organisation_id",
    m.Meeting: "meeting_id",
}


def list_entities(
    session: Session,
    model: type[E],
    request: ListRequest,
    *,
    within: tuple[type[m.Base], int] | None = None,
) -> Listing[E]:
    """A page of entities in id order, optionally within a parent (which must exist)."""
    conditions = {k: v for k, v in request.filters().items() if v is not None}
    if within is not None:
        parent, parent_id = within
        get_entity(session, parent, parent_id)
        conditions[_PARENT_KEYS[parent]] = parent_id
    query = select(model).filter_by(**conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(*inspect(model).primary_key).limit(request.limit).offset(request.offset)
    return Listing(list(session.scalars(page)), total, request.limit, request.offset)


def _network_of(entity: m.Base) -> int | None:
    """The network an entity belongs to; None for shared ones such as checklists."""
    if isinstance(entity, m.Participant):
        return entity.organisation.network_id
    if isinstance(entity, m.Group | m.Organisation | m.Meeting | m.AssessmentRound):
        return entity.network_id
    return None


def reference_problems(
    session: Session,
    fields: Mapping[str, Any],
    references: Mapping[str, type[m.Base]],
    *,
    network_id: int | None,
    at: str = "$",
) -> list[Problem]:
    """Problems with id fields that point at nothing or into another network."""
    problems = []
    for name, model in references.items():
        target_id = fields.get(name)
        if target_id is None:
            continue
        target = session.get(model, target_id)
        if target is None:
            problems.append(Problem(f"{at}.{name}", f"unknown {entity_label(model)} {target_id}"))
        elif (home := _network_of(target)) is not None and home != network_id:
            problems.append(
                Problem(
                    f"{at}.{name}",
                    f"{entity_label(model)} {target_id} belongs to network {home}, "
                    f"not {network_id}",
                )
            )
    return problems


class _RefRule(NamedTuple):
    scope: str | None  # the column a ref is unique within; None: unique everywhere
    source: str  # the attribute a missing ref is made from


_REF_RULES: dict[type[m.Base], _RefRule] = {
    m.Network: _RefRule(None, "name"),
    m.Checklist: _RefRule(None, "title"),
    m.Group: _RefRule("network_id", "name"),
    m.Organisation: _RefRule("network_id", "name"),
    m.Meeting: _RefRule("network_id", "title"),
    m.AssessmentRound: _RefRule("network_id", "label"),
    m.Participant: _RefRule("organisation_id", "name"),
    m.ImprovementInitiative: _RefRule("organisation_id", "title"),
}


def slug(text: str, *, max_length: int = 90) -> str:
    """A ref made from a name: "Region Värmland" -> "region-varmland" (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


def _assign_ref(session: Session, entity: m.Base, wanted: str | None) -> None:
    """Give the entity the wanted or kept ref (409 if taken) or, if it has none, a free slug."""
    rule = _REF_RULES.get(type(entity))
    if rule is None:
        return
    table = type(entity).__table__
    conditions = []
    where = ""
    if rule.scope is not None:
        scope_id = getattr(entity, rule.scope)
        conditions.append(table.c[rule.scope] == scope_id)
        where = f" in {rule.scope.removesuffix('_id')} {scope_id}"
    identity = inspect(entity).identity
    if identity is not None:
        conditions.append(table.c.id != identity[0])

    def taken(ref: str) -> bool:
        return session.scalar(select(table.c.id).where(table.c.ref == ref, *conditions)) is not None

    label = entity_label(type(entity))
    # A kept ref is checked too: the entity may have moved to another scope.
    wanted = wanted if wanted is not None else getattr(entity, "ref", None)
    if wanted is not None:
        if taken(wanted):
            raise ConflictError(f"{label} ref {wanted!r} is already taken{where}")
        entity.ref = wanted  # type: ignore[attr-defined]
    else:
        base = slug(getattr(entity, rule.source)) or label.replace(" ", "-")
        candidate, number = base, 2
        while taken(candidate):
            candidate, number = f"{base}-{number}", number + 1
        entity.ref = candidate  # type: ignore[attr-defined]


Rules = Callable[[E], list[Problem]]


def save(
    session: Session,
    entity: E,
    fields: dict[str, Any],
    *,
    network_id: int | None,
    references: Mapping[str, type[m.Base]] | None = None,
    rules: Rules[E] | None = None,
) -> E:
    """Check and apply field values, settle the ref, and write the entity.

    Nothing is kept if a check fails: the caller's transaction is rolled back on the error.
    """
    with session.no_autoflush:
        problems = reference_problems(session, fields, references or {}, network_id=network_id)
        wanted_ref = fields.pop("ref", None)
        for name, value in fields.items():
            setattr(entity, name, value)
        if rules is not None:
            problems += rules(entity)
        if problems:
            raise InvalidInputError(problems)
        _assign_ref(session, entity, wanted_ref)
    session.add(entity)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request took the same ref
        raise ConflictError(f"the {entity_label(type(entity))} clashes with stored data") from exc
    return entity


def order_problem(
    earlier: Any, later: Any, *, at: str, message: str, strict: bool = False
) -> list[Problem]:
    """A problem at ``at`` when ``later`` comes before ``earlier`` (or equals it, if strict)."""
    if earlier is None or later is None:
        return []
    wrong = later <= earlier if strict else later < earlier
    return [Problem(at, message)] if wrong else []
