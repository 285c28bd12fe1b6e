"""marshmallow 4 schemas of the API. Public schemas are allowlists: a field not listed
here is never shown to the public, whatever the model grows."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from archive.models import ITEM_KINDS, PERSON_ROLES, USER_ROLES
from archive.services.accountability import parse_moment

LANGUAGE = validate.Regexp(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="an ISO 639 language code such as fr or en"
)
TAGS = fields.List(
    fields.String(validate=validate.Length(min=1, max=60)),
    load_default=list,
    validate=validate.Length(max=30),
)


class StrictSchema(Schema):
    class Meta:
        ordered = True


# ---- cases and persons ------------------------------------------------------------------


class CaseCreateSchema(StrictSchema):
    slug = fields.String(
        required=True, metadata={"description": "lowercase letters, digits and hyphens"}
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    summary = fields.String(load_default="", validate=validate.Length(max=5000))
    place = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class CaseSchema(StrictSchema):
    slug = fields.String()
    title = fields.String()
    summary = fields.String()
    place = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class PersonCreateSchema(StrictSchema):
    role = fields.String(load_default="witness", validate=validate.OneOf(PERSON_ROLES))
    names = fields.List(
        fields.String(validate=validate.Length(min=2, max=200)),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    aliases = fields.List(
        fields.String(validate=validate.Length(min=2, max=200)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    contact = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class PersonSchema(StrictSchema):
    """Only the pseudonym: the identity never leaves the vault through the API."""

    id = fields.String(attribute="uid")
    pseudonym = fields.String()
    role = fields.String()
    created_at = fields.AwareDateTime()


class AliasesSchema(StrictSchema):
    aliases = fields.List(
        fields.String(validate=validate.Length(min=2, max=200)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )


class RevealSchema(StrictSchema):
    reason = fields.String(
        load_default=None,
        metadata={
            "description": "why this identity must be seen, 10 to 1000 characters (required "
            "here or in the X-Temoin-Reason header; signed into the case's access record)"
        },
    )


class IdentitySchema(StrictSchema):
    """Shown once, to an authorised caller who gave a reason; never cached, never logged."""

    names = fields.List(fields.String())
    aliases = fields.List(fields.String())
    contact = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)


# ---- items ----------------------------------------------------------------------------


class CitationSchema(StrictSchema):
    publication = fields.String(required=True, validate=validate.Length(min=1, max=300))
    author = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    published = fields.Date(load_default=None, allow_none=True)
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class _ItemCommon(StrictSchema):
    language = fields.String(required=True, validate=LANGUAGE)
    event_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "when it happened"}
    )
    collected_at = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "when it was collected"}
    )
    collected_by = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200)
    )
    place = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "coarse public location"},
    )


class TestimonyCreateSchema(_ItemCommon):
    tags = TAGS
    text = fields.String(required=True, validate=validate.Length(min=1))
    person = fields.String(
        required=True,
        metadata={"description": "id of the witness (a protected person of the case)"},
    )
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ExcerptCreateSchema(_ItemCommon):
    tags = TAGS
    text = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "the quoted passage"},
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    citation = fields.Nested(CitationSchema, required=True)


class ExhibitFormSchema(_ItemCommon):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=10000)
    )
    tags = fields.String(load_default="", metadata={"description": "comma-separated tags"})


class ExhibitFileSchema(Schema):
    file = Upload(required=True)


class RedactionSpanSchema(StrictSchema):
    start = fields.Integer()
    end = fields.Integer()
    label = fields.String()
    source = fields.String()
    reason = fields.String()


class ItemSchema(StrictSchema):
    """The full view, for token holders."""

    id = fields.String(attribute="uid")
    case = fields.Function(lambda item: item.case.slug)
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))
    status = fields.String()
    title = fields.String()
    language = fields.String()
    person = fields.Function(lambda item: item.person.pseudonym if item.person else None)
    digest = fields.String()
    filename = fields.String(allow_none=True)
    media_type = fields.Function(lambda item: item.blob.media_type)
    size = fields.Function(lambda item: item.blob.size)
    event_date = fields.Date(allow_none=True)
    collected_at = fields.AwareDateTime(allow_none=True)
    collected_by = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    citation = fields.Dict(allow_none=True)
    description = fields.String(allow_none=True)
    text = fields.String(
        attribute="text_view",
        allow_none=True,
        metadata={"description": "the original text (testimonies, excerpts)"},
    )
    public_title = fields.String(allow_none=True)
    public_text = fields.String(allow_none=True)
    redactions = fields.List(fields.Nested(RedactionSpanSchema))
    redacted_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class PublicCitationSchema(StrictSchema):
    publication = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    published = fields.String(allow_none=True)
    title = fields.String(allow_none=True)


class PublicItemSchema(StrictSchema):
    """What anyone may see of a published item (an allowlist, pinned by a test)."""

    id = fields.String()
    case = fields.String()
    kind = fields.String()
    title = fields.String()
    language = fields.String()
    event_date = fields.Date(allow_none=True)
    place = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    text = fields.String(allow_none=True)
    citation = fields.Nested(PublicCitationSchema, allow_none=True)
    labels = fields.List(
        fields.String(), metadata={"description": "labels that stand where text was withheld"}
    )
    published_at = fields.AwareDateTime(allow_none=True)
    digest = fields.String(metadata={"description": "SHA-256 of a file exhibit's bytes"})
    media_type = fields.String()
    size = fields.Integer()


class ExhibitMatchSchema(StrictSchema):
    """A published exhibit found by its digest: an allowlist of public fields."""

    id = fields.String()
    case = fields.String()
    kind = fields.String()
    title = fields.String()
    media_type = fields.String()
    size = fields.Integer()
    published_at = fields.AwareDateTime(allow_none=True)
    record = fields.String(metadata={"description": "the record's public page (a path)"})


class ExhibitLookupSchema(StrictSchema):
    """The same for an unknown digest and for one of an unpublished or sealed exhibit."""

    digest = fields.String(metadata={"description": "the digest asked about, sha256:<hex>"})
    published = fields.Boolean(
        metadata={"description": "true when at least one published exhibit has this digest"}
    )
    matches = fields.List(fields.Nested(ExhibitMatchSchema))


class ManualSpanSchema(StrictSchema):
    start = fields.Integer(required=True, validate=validate.Range(min=0))
    end = fields.Integer(required=True, validate=validate.Range(min=1))
    label = fields.String(load_default="withheld", validate=validate.Length(min=1, max=80))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class SpanRefSchema(StrictSchema):
    start = fields.Integer(required=True)
    end = fields.Integer(required=True)


class ReviewSchema(StrictSchema):
    add = fields.List(
        fields.Nested(ManualSpanSchema), load_default=list, validate=validate.Length(max=500)
    )
    remove = fields.List(
        fields.Nested(SpanRefSchema), load_default=list, validate=validate.Length(max=500)
    )


class ProposedSpanSchema(StrictSchema):
    start = fields.Integer()
    end = fields.Integer()
    label = fields.String()
    source = fields.String()
    reason = fields.String()


class DecisionSchema(StrictSchema):
    action = fields.String()
    start = fields.Integer()
    end = fields.Integer()
    label = fields.String()
    reason = fields.String()
    by = fields.String()
    at = fields.AwareDateTime()


class RedactionViewSchema(StrictSchema):
    item = fields.String()
    state = fields.String(metadata={"description": "not reviewed | reviewed | stale"})
    reviewed_at = fields.AwareDateTime(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    proposed = fields.List(fields.Nested(ProposedSpanSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))
    applied = fields.List(fields.Nested(ProposedSpanSchema))
    public_title = fields.String(allow_none=True)
    public_text = fields.String(allow_none=True)


class ItemListArgs(StrictSchema):
    status = fields.String(
        load_default=None, validate=validate.OneOf(("draft", "sealed", "published"))
    )


class CustodyEventSchema(StrictSchema):
    seq = fields.Integer()
    type = fields.String()
    at = fields.AwareDateTime()
    actor = fields.String()
    event = fields.Function(
        lambda row: json.loads(row.canonical), metadata={"description": "the signed event"}
    )
    canonical = fields.Function(
        lambda row: base64.b64encode(row.canonical).decode(),
        metadata={"description": "RFC 8785 bytes that were signed, base64"},
    )
    event_hash = fields.String()
    key_id = fields.String()
    signature = fields.Function(
        lambda row: base64.b64encode(row.signature).decode(),
        metadata={"description": "Ed25519, base64"},
    )


# ---- search -------------------------------------------------------------------------


class SearchArgsSchema(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=500))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    case = fields.String(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(ITEM_KINDS))
    language = fields.String(load_default=None, validate=LANGUAGE)
    event_from = fields.Date(load_default=None, metadata={"description": "events on or after"})
    event_to = fields.Date(load_default=None, metadata={"description": "events on or before"})
    collected_from = fields.Date(load_default=None)
    collected_to = fields.Date(load_default=None)
    place = fields.String(load_default=None, validate=validate.Length(max=200))
    tag = fields.List(
        fields.String(validate=validate.Length(max=60)),
        load_default=list,
        metadata={"description": "repeat for several; all must match"},
    )
    sort = fields.String(
        load_default="relevance", validate=validate.OneOf(("relevance", "date", "date_asc"))
    )
    scope = fields.String(
        load_default=None,
        validate=validate.OneOf(("public", "restricted")),
        metadata={
            "description": "restricted needs a token; token holders get restricted by default"
        },
    )

    @validates_schema
    def _not_blank(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data["q"].strip():
            raise ValidationError("the search query is empty", "q")


class SearchHitSchema(StrictSchema):
    id = fields.String(attribute="doc_id")
    score = fields.Float()
    title = fields.String()
    snippet = fields.String(metadata={"description": "HTML: escaped text, matches in <mark>"})
    kind = fields.String()
    case = fields.String(attribute="case_id")
    language = fields.String()
    place = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    event_date = fields.Date(allow_none=True)


class SearchResultsSchema(StrictSchema):
    query = fields.String()
    scope = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    hits = fields.List(fields.Nested(SearchHitSchema))
    facets = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "case, kind, language, year, tags: value -> matching documents"},
    )


class SimilarArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


# ---- accountability -----------------------------------------------------------------------


class Moment(fields.Field[dt.datetime]):
    """A date (YYYY-MM-DD) or an ISO 8601 date and time (UTC unless it names an offset)."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise ValidationError("a date (YYYY-MM-DD) or an ISO 8601 date and time")
        try:
            return parse_moment(value, end_of_day=self.end_of_day)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class AccessReportArgs(StrictSchema):
    since = Moment(
        load_default=None,
        metadata={"description": "from this date or time on (inclusive)", "type": "string"},
    )
    until = Moment(
        end_of_day=True,
        load_default=None,
        metadata={
            "description": "up to this time (exclusive), or to the end of this date",
            "type": "string",
        },
    )
    after = fields.Integer(
        load_default=None,
        validate=validate.Range(min=-1),
        metadata={"description": "only entries after this log index (to page)"},
    )
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10_000))

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["since"] and data["until"] and data["since"] >= data["until"]:
            raise ValidationError("until must come after since", "until")


class AccessEntrySchema(StrictSchema):
    """One recorded look at protected material, or one change of who may see a case."""

    log_index = fields.Integer(metadata={"description": "the event's leaf in the custody log"})
    at = fields.String(metadata={"description": "RFC 3339 UTC, as signed"})
    actor = fields.String(metadata={"description": "who"})
    action = fields.String(
        metadata={"description": "accessed | exported | grant_added | grant_revoked"}
    )
    what = fields.String(metadata={"description": "what was seen, in plain words"})
    case = fields.String()
    item = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    details = fields.Dict(metadata={"description": "the event's details, as signed"})
    event_hash = fields.String()
    key_id = fields.String()
    signature = fields.Function(
        lambda e: base64.b64encode(e.signature).decode(),
        metadata={"description": "Ed25519 over the canonical bytes, base64"},
    )
    canonical = fields.Function(
        lambda e: base64.b64encode(e.canonical).decode(),
        metadata={"description": "RFC 8785 bytes of the event (the log leaf's data), base64"},
    )


# ---- administration -----------------------------------------------------------------------


class UserCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))


class UserSchema(StrictSchema):
    name = fields.String()
    role = fields.String()
    state = fields.String(metadata={"description": "active | disabled"})
    cases = fields.List(fields.String(), metadata={"description": "cases granted"})
    created_at = fields.AwareDateTime()
    disabled_at = fields.AwareDateTime(allow_none=True)


class TokenCreateSchema(StrictSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "what the token is for (e.g. the client that holds it)"},
    )
    expires_at = fields.AwareDateTime(
        load_default=None, metadata={"description": "when it stops working (within 1825 days)"}
    )
    expires_in_days = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=1825),
        metadata={"description": "or: days from now (default 90)"},
    )


class TokenSchema(StrictSchema):
    """A token as anyone may list it: never its secret, never its hash."""

    id = fields.Integer()
    name = fields.String()
    state = fields.String(metadata={"description": "active | expired | revoked"})
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(
        metadata={"description": "the bearer secret: shown this once, stored only hashed"}
    )
