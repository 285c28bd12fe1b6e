"""Cases and the protected persons registered in them."""

from __future__ import annotations

import re
import string

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.errors import Conflict, InvalidInput, NotFound
from archive.models import PERSON_ROLES, Case, CaseGrant, ProtectedPerson, new_uid
from archive.services import users
from archive.services.redaction import ProtectedName, fold
from archive.services.runtime import Archive
from archive.services.vault import Identity, Sealed

NAME_PARTS = re.compile(r"[\s\-‐‑–—]+")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
ROLE_LABELS = {"witness": "Witness", "victim": "Victim", "source": "Source"}


def create_case(
    session: Session,
    *,
    slug: str,
    title: str,
    summary: str = "",
    place: str | None = None,
    creator_id: int | None = None,
) -> Case:
    """Create a case, granted to its creator (or, made at the console, to every admin)."""
    if not SLUG.match(slug):
        raise InvalidInput(
            "a case slug is 3-80 characters of lowercase letters, digits and hyphens",
            errors={"slug": ["invalid slug"]},
        )
    if session.scalar(select(Case).where(Case.slug == slug)) is not None:
        raise Conflict(f"case {slug!r} already exists", errors={"slug": ["already exists"]})
    case = Case(slug=slug, title=title.strip(), summary=summary.strip(), place=place)
    session.add(case)
    session.flush()
    if creator_id is None:
        users.grant_to_admins(session, case)
    else:
        session.add(CaseGrant(user_id=creator_id, case_id=case.id))
        session.flush()
    return case


def get_case(session: Session, slug: str) -> Case:
    case = session.scalar(select(Case).where(Case.slug == slug))
    if case is None or case.slug.startswith("_"):
        raise NotFound(f"no case {slug!r}")
    return case


def list_cases(session: Session) -> list[Case]:
    public = ~Case.slug.startswith("_", autoescape=True)  # "_archive" is the system case
    query = select(Case).where(public).order_by(Case.created_at, Case.id)
    return list(session.scalars(query))


def letter_code(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: stable, short pseudonym suffixes."""
    letters = string.ascii_uppercase
    code = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        code = letters[rem] + code
    return code


def register_person(
    arc: Archive, session: Session, case: Case, *, role: str, identity: Identity
) -> ProtectedPerson:
    """Seal the identity in the vault and give the person a case-local pseudonym.

    Every item of the case is redacted again, so the new names vanish from public text.
    """
    if role not in PERSON_ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(PERSON_ROLES)}", errors={"role": ["unknown role"]}
        )
    names = [n.strip() for n in identity.all_names if n and n.strip()]
    if not identity.names or not names:
        raise InvalidInput(
            "a protected person needs at least one name", errors={"names": ["required"]}
        )
    try:
        ProtectedName(label="check", names=tuple(names))
    except ValueError as exc:
        raise InvalidInput(str(exc), errors={"names": [str(exc)]}) from None
    same_role = session.scalar(
        select(func.count())
        .select_from(ProtectedPerson)
        .where(ProtectedPerson.case_id == case.id, ProtectedPerson.role == role)
    )
    uid = new_uid()
    sealed = arc.vault.seal(identity, person_uid=uid)
    person = ProtectedPerson(
        uid=uid,
        case_id=case.id,
        role=role,
        pseudonym=f"{ROLE_LABELS[role]} {letter_code(same_role or 0)}",
        identity_ciphertext=sealed.ciphertext,
        identity_nonce=sealed.nonce,
        identity_key_id=sealed.key_id,
    )
    session.add(person)
    session.flush()
    session.refresh(case, attribute_names=["persons"])
    from archive.services.redacting import redact_case_items

    redact_case_items(arc, session, case, actor="archive")
    return person


def add_aliases(
    arc: Archive, session: Session, person: ProtectedPerson, aliases: list[str]
) -> ProtectedPerson:
    """Add names to a person's identity (sealed again), then redact the case again."""
    identity = open_identity(arc, person)
    fresh = [a.strip() for a in aliases if a.strip() and a.strip() not in identity.all_names]
    if not fresh:
        return person
    try:
        ProtectedName(label="check", names=tuple(fresh))
    except ValueError as exc:
        raise InvalidInput(str(exc), errors={"aliases": [str(exc)]}) from None
    updated = Identity(
        names=identity.names,
        aliases=identity.aliases + tuple(fresh),
        contact=identity.contact,
        location=identity.location,
        notes=identity.notes,
    )
    sealed = arc.vault.seal(updated, person_uid=person.uid)
    person.identity_ciphertext, person.identity_nonce = sealed.ciphertext, sealed.nonce
    person.identity_key_id = sealed.key_id
    session.flush()
    from archive.services.redacting import redact_case_items

    redact_case_items(arc, session, person.case, actor="archive")
    return person


def reveal_identity(
    arc: Archive,
    session: Session,
    person: ProtectedPerson,
    *,
    actor: str,
    reason: str | None,
    via: str = "api",
    reason_field: str = "reason",
) -> Identity:
    """An authorised look at an identity: first a signed custody event, then the identity.

    The event goes into the case's access record, with the reason (required)."""
    from archive.services.accountability import case_record, check_reason
    from archive.services.custody import append_event

    why = check_reason(reason, field=reason_field, what="this identity")
    append_event(
        arc,
        session,
        case_record(arc, session, person.case),
        "accessed",
        actor=actor,
        details={
            "what": "protected identity",
            "via": via,
            "person": person.uid,
            "pseudonym": person.pseudonym,
            "reason": why,
        },
    )
    return open_identity(arc, person)


def get_person(session: Session, case: Case, uid: str) -> ProtectedPerson:
    person = session.scalar(select(ProtectedPerson).where(ProtectedPerson.uid == uid))
    if person is None or person.case_id != case.id:
        raise NotFound(f"no protected person {uid!r} in case {case.slug!r}")
    return person


def open_identity(arc: Archive, person: ProtectedPerson) -> Identity:
    return arc.vault.open(
        Sealed(
            ciphertext=person.identity_ciphertext,
            nonce=person.identity_nonce,
            key_id=person.identity_key_id,
        ),
        person_uid=person.uid,
    )


def name_forms(names: tuple[str, ...]) -> tuple[str, ...]:
    """Every name and alias, and each part of a name of several words on its own: a
    surname or a first name alone can identify a witness as surely as the full name."""
    forms: dict[str, None] = {}
    for name in names:
        name = name.strip()
        if not name:
            continue
        forms[name] = None
        parts = [p for p in NAME_PARTS.split(name) if len(fold(p)) >= 2]
        if len(parts) > 1:
            forms.update(dict.fromkeys(parts))
    return tuple(forms)


def protected_names(arc: Archive, case: Case) -> list[ProtectedName]:
    """Decrypted in memory only, to compute redactions."""
    return [
        ProtectedName(
            label=person.pseudonym, names=name_forms(open_identity(arc, person).all_names)
        )
        for person in case.persons
    ]
