"""REST API under /api/v1 (flask-smorest). Views are thin: permission, schema, one service."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from archive.errors import NotFound
from archive.models import Item
from archive.schemas import (
    AccessEntrySchema,
    AccessReportArgs,
    AliasesSchema,
    CaseCreateSchema,
    CaseSchema,
    CustodyEventSchema,
    ExcerptCreateSchema,
    ExhibitFileSchema,
    ExhibitFormSchema,
    ExhibitLookupSchema,
    IdentitySchema,
    ItemListArgs,
    ItemSchema,
    PersonCreateSchema,
    PersonSchema,
    PublicItemSchema,
    RedactionViewSchema,
    RevealSchema,
    ReviewSchema,
    SearchArgsSchema,
    SearchHitSchema,
    SearchResultsSchema,
    SimilarArgsSchema,
    TestimonyCreateSchema,
)
from archive.services import accountability
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.services.administration import record_new_case_grants
from archive.services.custody import events_of
from archive.services.export import export_bundle, export_public_bundle
from archive.services.public_site import exhibit_lookup, parse_digest
from archive.services.redacting import ManualSpan, redaction_view, review_redaction
from archive.services.search import Filters, similar
from archive.services.search import search as run_search
from archive.services.vault import Identity
from archive.web.access import granted_everywhere
from archive.web.admin_api import users_blp
from archive.web.auth import actor_name, current_token, request_info, require_token, token_required
from archive.web.context import archive, read_session, writing
from archive.web.log_api import log_blp
from archive.web.reasons import (
    REASON_HEADER,
    given_reason,
    header_reason,
    reason_parameter,
    required_reason,
)

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

cases_blp = Blueprint(
    "cases", __name__, url_prefix="/api/v1/cases", description="Cases, protected persons and intake"
)
items_blp = Blueprint(
    "items", __name__, url_prefix="/api/v1/items", description="Items and their custody record"
)
search_blp = Blueprint(
    "search", __name__, url_prefix="/api/v1/search", description="Full-text search"
)
exhibits_blp = Blueprint(
    "exhibits",
    __name__,
    url_prefix="/api/v1/exhibits",
    description="Is this file a published exhibit? (by SHA-256 digest)",
)


# ---- cases --------------------------------------------------------------------------


@cases_blp.route("")
class Cases(MethodView):
    @cases_blp.response(200, CaseSchema(many=True))
    def get(self) -> Any:
        """List cases (public)."""
        return case_service.list_cases(read_session())

    @token_required
    @cases_blp.arguments(CaseCreateSchema)
    @cases_blp.response(201, CaseSchema)
    @cases_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a case; its creator is granted it."""
        token = require_token()
        with writing() as session:
            case = case_service.create_case(session, creator_id=token.user_id, **data)
            record_new_case_grants(archive(), session, case, actor=actor_name(token))
            return case


@cases_blp.route("/<slug>")
class CaseDetail(MethodView):
    @cases_blp.response(200, CaseSchema)
    def get(self, slug: str) -> Any:
        """One case (public)."""
        return case_service.get_case(read_session(), slug)


@cases_blp.route("/<slug>/persons")
class Persons(MethodView):
    @token_required
    @cases_blp.response(200, PersonSchema(many=True))
    @cases_blp.doc(security=BEARER)
    def get(self, slug: str) -> Any:
        """List the case's protected persons, by pseudonym only."""
        require_token()
        return case_service.get_case(read_session(), slug).persons

    @token_required
    @cases_blp.arguments(PersonCreateSchema)
    @cases_blp.response(201, PersonSchema)
    @cases_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], slug: str) -> Any:
        """Register a protected person; the response holds only the pseudonym."""
        require_token()
        identity = Identity(
            names=tuple(data["names"]),
            aliases=tuple(data["aliases"]),
            contact=data["contact"],
            location=data["location"],
            notes=data["notes"],
        )
        with writing() as session:
            case = case_service.get_case(session, slug)
            return case_service.register_person(
                archive(), session, case, role=data["role"], identity=identity
            )


def _item_fields(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("language", "event_date", "collected_at", "collected_by", "place", "tags")
    return {k: data[k] for k in keys}


@cases_blp.route("/<slug>/persons/<uid>")
class PersonAliases(MethodView):
    @token_required
    @cases_blp.arguments(AliasesSchema)
    @cases_blp.response(200, PersonSchema)
    @cases_blp.doc(security=BEARER)
    def patch(self, data: dict[str, Any], slug: str, uid: str) -> Any:
        """Add aliases to a protected person; every item of the case is redacted again."""
        require_token()
        with writing() as session:
            person = case_service.get_person(session, case_service.get_case(session, slug), uid)
            return case_service.add_aliases(archive(), session, person, data["aliases"])


@cases_blp.route(
    "/<slug>/persons/<uid>/reveal",
    parameters=[reason_parameter(required=False, when="or the body's `reason`; one is required")],
)
class PersonReveal(MethodView):
    @token_required
    @cases_blp.arguments(RevealSchema)
    @cases_blp.response(200, IdentitySchema)
    @cases_blp.alt_response(400, description="No reason given, or too short or too long")
    @cases_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], slug: str, uid: str) -> Any:
        """Reveal a protected identity. The reveal, with its reason, is a signed custody event
        in the case's access record."""
        token = require_token()
        in_body = data["reason"] is not None
        with writing() as session:
            person = case_service.get_person(session, case_service.get_case(session, slug), uid)
            identity = case_service.reveal_identity(
                archive(),
                session,
                person,
                actor=actor_name(token),
                reason=data["reason"] if in_body else header_reason(),
                reason_field="reason" if in_body else REASON_HEADER,
            )
        return identity.to_json()


@cases_blp.route("/<slug>/testimonies")
class Testimonies(MethodView):
    @token_required
    @cases_blp.arguments(TestimonyCreateSchema)
    @cases_blp.response(201, ItemSchema)
    @cases_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], slug: str) -> Any:
        """Ingest a testimony: stored as an original, digested, and given signed custody events."""
        token = require_token()
        arc = archive()
        with writing() as session:
            case = case_service.get_case(session, slug)
            person = case_service.get_person(session, case, data["person"])
            item = item_service.ingest_text(
                arc,
                session,
                case,
                kind="testimony",
                text=data["text"],
                title=data["title"] or f"Testimony of {person.pseudonym}",
                person=person,
                actor=actor_name(token),
                request_info=request_info(),
                **_item_fields(data),
            )
        return _full_view(item)


@cases_blp.route("/<slug>/excerpts")
class Excerpts(MethodView):
    @token_required
    @cases_blp.arguments(ExcerptCreateSchema)
    @cases_blp.response(201, ItemSchema)
    @cases_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], slug: str) -> Any:
        """Ingest a source excerpt: a quoted passage and its citation."""
        token = require_token()
        arc = archive()
        citation = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in data["citation"].items()
        }
        with writing() as session:
            case = case_service.get_case(session, slug)
            item = item_service.ingest_text(
                arc,
                session,
                case,
                kind="source_excerpt",
                text=data["text"],
                title=data["title"],
                citation=citation,
                actor=actor_name(token),
                request_info=request_info(),
                **_item_fields(data),
            )
        return _full_view(item)


@cases_blp.route("/<slug>/exhibits")
class Exhibits(MethodView):
    @token_required
    @cases_blp.arguments(ExhibitFormSchema, location="form")
    @cases_blp.arguments(ExhibitFileSchema, location="files")
    @cases_blp.response(201, ItemSchema)
    @cases_blp.doc(security=BEARER)
    def post(self, form: dict[str, Any], files: dict[str, Any], slug: str) -> Any:
        """Upload a file exhibit (multipart); it is hashed while it is written to disk."""
        token = require_token()
        arc = archive()
        upload = files["file"]
        fields = _item_fields(form)
        fields["tags"] = [t.strip() for t in form["tags"].split(",") if t.strip()]
        with writing() as session:
            case = case_service.get_case(session, slug)
            item = item_service.ingest_exhibit(
                arc,
                session,
                case,
                stream=upload.stream,
                filename=upload.filename or "upload",
                media_type=upload.mimetype or "application/octet-stream",
                title=form["title"],
                description=form["description"],
                actor=actor_name(token),
                request_info=request_info(),
                **fields,
            )
        return _full_view(item)


@cases_blp.route("/<slug>/items")
class CaseItems(MethodView):
    @cases_blp.arguments(ItemListArgs, location="query")
    @cases_blp.response(200, PublicItemSchema(many=True))
    def get(self, args: dict[str, Any], slug: str) -> Any:
        """The case's items: public projections of published ones; every item with a token."""
        session = read_session()
        case = case_service.get_case(session, slug)
        if current_token() is None:
            return [
                item_service.public_projection(archive(), i)
                for i in item_service.list_items(session, case, published_only=True)
            ]
        items = item_service.list_items(session, case, published_only=False)
        if args["status"]:
            items = [i for i in items if i.status == args["status"]]
        return [
            {
                "id": i.uid,
                "case": slug,
                "kind": i.kind,
                "title": i.title,
                "language": i.language,
                "event_date": i.event_date,
                "place": i.place,
                "tags": i.tags,
                "published_at": i.published_at,
            }
            for i in items
        ]


@cases_blp.route("/<slug>/access")
class CaseAccess(MethodView):
    @token_required
    @cases_blp.arguments(AccessReportArgs, location="query")
    @cases_blp.response(200, AccessEntrySchema(many=True))
    @cases_blp.doc(security=BEARER)
    def get(self, args: dict[str, Any], slug: str) -> Any:
        """The case's access report, in log order: reads and exports of its items, restricted
        searches of it, reveals of its identities, grants on it given and taken away.

        Page with `after` (the last `log_index` you got) and `limit`."""
        require_token()
        session = read_session()
        return accountability.case_access(
            session,
            case_service.get_case(session, slug),
            since=args["since"],
            until=args["until"],
            after=args["after"],
            limit=args["limit"],
        )


# ---- items ----------------------------------------------------------------------------


def _full_view(item: Item) -> Item:
    """The item with its original text attached, for ItemSchema to dump."""
    if item.is_text:
        item.text_view = item_service.original_text(archive(), item)
    return item


@items_blp.route(
    "/<uid>",
    parameters=[reason_parameter(required=False, when="required with a token: the full view")],
)
class ItemDetail(MethodView):
    @items_blp.alt_response(
        200,
        schema=ItemSchema,
        success=True,
        description="The full view with a token; without one, the public projection "
        "(PublicItemSchema) of a published item.",
    )
    @items_blp.alt_response(400, description="A token but no reason (X-Temoin-Reason)")
    @items_blp.alt_response(404, description="No such item, or (anonymous) not published")
    def get(self, uid: str) -> Any:
        """Read an item. Anonymous callers get the public projection of published items only.

        A full read shows the unredacted original: it needs a reason (`X-Temoin-Reason`)
        and is recorded, with it, as an `accessed` event in the item's custody chain.
        """
        token = current_token()
        if token is None:
            item = item_service.get_public_item(read_session(), uid)
            return jsonify(PublicItemSchema().dump(item_service.public_projection(archive(), item)))
        reason = required_reason("the original of this item")
        with writing() as session:
            item = item_service.get_item(session, uid)
            accountability.record_original_read(
                archive(), session, item, actor=actor_name(token), reason=reason, via="api"
            )
        return jsonify(ItemSchema().dump(_full_view(item)))


@items_blp.route("/<uid>/custody")
class ItemCustody(MethodView):
    @token_required
    @items_blp.response(200, CustodyEventSchema(many=True))
    @items_blp.doc(security=BEARER)
    def get(self, uid: str) -> Any:
        """The item's custody events, each with its canonical bytes and signature."""
        require_token()
        session = read_session()
        return events_of(session, item_service.get_item(session, uid))


@items_blp.route("/<uid>/access")
class ItemAccess(MethodView):
    @token_required
    @items_blp.response(200, AccessEntrySchema(many=True))
    @items_blp.doc(security=BEARER)
    def get(self, uid: str) -> Any:
        """Who read or exported this item, when and why: its `accessed` and `exported` events,
        oldest first, each with its log index, canonical bytes and signature.

        For those granted the item's case; nobody can erase an entry."""
        require_token()
        session = read_session()
        return accountability.item_access(session, item_service.get_item(session, uid))


class BundleArgs(Schema):
    since = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "size of a checkpoint you hold: adds a consistency proof from it"},
    )


@items_blp.route(
    "/<uid>/bundle", parameters=[reason_parameter(required=True, when="an export for evidence")]
)
class ItemBundle(MethodView):
    @token_required
    @items_blp.arguments(BundleArgs, location="query")
    @items_blp.alt_response(400, description="No reason given (X-Temoin-Reason)")
    @items_blp.doc(
        security=BEARER,
        responses={
            "200": {
                "description": "temoin-bundle/v1 (docs/bundle.md)",
                "content": {"application/json": {}},
            }
        },
    )
    def get(self, args: dict[str, Any], uid: str) -> Response:
        """The item's evidence bundle, checkable offline with `temoin-verify`.

        The export needs a reason (`X-Temoin-Reason`) and is recorded, with it, as an
        `exported` custody event."""
        token = require_token()
        bundle = export_bundle(
            archive(),
            uid,
            actor=actor_name(token),
            via="api",
            reason=required_reason("an evidence bundle of this item"),
            since=args["since"],
            reason_field=REASON_HEADER,
        )
        response = Response(bundle.to_json(), mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{uid}.bundle.json"'
        return response


@items_blp.route("/<uid>/publish")
class ItemPublish(MethodView):
    @token_required
    @items_blp.response(200, ItemSchema)
    @items_blp.doc(security=BEARER)
    def post(self, uid: str) -> Any:
        """Publish an item: its redacted projection becomes public and searchable.

        The response leaves the original text out (`text` is null): read it, with a reason,
        through `GET /items/{uid}`."""
        token = require_token()
        with writing() as session:
            item = item_service.get_item(session, uid)
            item_service.publish_item(archive(), session, item, actor=actor_name(token))
        return item


@items_blp.route("/<uid>/redaction")
class ItemRedaction(MethodView):
    @token_required
    @items_blp.response(200, RedactionViewSchema)
    @items_blp.doc(security=BEARER)
    def get(self, uid: str) -> Any:
        """The redaction to review: proposed spans by source, decisions, and the public preview."""
        require_token()
        session = read_session()
        return redaction_view(archive(), session, item_service.get_item(session, uid))

    @token_required
    @items_blp.arguments(ReviewSchema)
    @items_blp.response(200, RedactionViewSchema)
    @items_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], uid: str) -> Any:
        """Review the redaction: keep the proposal, remove proposed spans, add spans by hand.

        Each review is a signed custody event linking the public text to the original."""
        token = require_token()
        add = [ManualSpan(**span) for span in data["add"]]
        remove = [(span["start"], span["end"]) for span in data["remove"]]
        arc = archive()
        with writing() as session:
            item = item_service.get_item(session, uid)
            review_redaction(arc, session, item, actor=actor_name(token), add=add, remove=remove)
            return redaction_view(arc, session, item)


@items_blp.route("/<uid>/public-bundle")
class ItemPublicBundle(MethodView):
    @items_blp.doc(
        responses={
            "200": {
                "description": "temoin-public-bundle/v1 (docs/public-bundle.md)",
                "content": {"application/json": {}},
            }
        }
    )
    def get(self, uid: str) -> Response:
        """A published record's public bundle: its redacted text, a disclosure proof against the
        sealed commitment, and the signed events, proven in the log. Reveals no hidden word."""
        bundle = export_public_bundle(archive(), read_session(), uid)
        response = Response(bundle.to_json(), mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{uid}.public-bundle.json"'
        response.headers["Cache-Control"] = "public, max-age=60"
        return response


# ---- search -------------------------------------------------------------------------


def _searched_cases(wanted: str | None) -> list[str]:
    """The cases a restricted search covers: the one asked for, or (for a caller granted
    every case, checked before the view) all of them."""
    if wanted:
        return [wanted]
    return [c.slug for c in case_service.list_cases(read_session())]


def _filters_on_record(args: dict[str, Any]) -> dict[str, Any]:
    """The search's filters as the access record keeps them (only those given)."""
    names = ("kind", "language", "event_from", "event_to", "collected_from", "collected_to")
    kept: dict[str, Any] = {
        n: args[n].isoformat() if hasattr(args[n], "isoformat") else args[n]
        for n in (*names, "place")
        if args[n] is not None
    }
    if args["tag"]:
        kept["tags"] = list(args["tag"])
    kept["sort"], kept["page"], kept["page_size"] = args["sort"], args["page"], args["page_size"]
    return kept


@search_blp.route(
    "",
    parameters=[
        reason_parameter(required=False, when="optional; a restricted search is recorded anyway")
    ],
)
class Search(MethodView):
    @search_blp.arguments(SearchArgsSchema, location="query")
    @search_blp.response(200, SearchResultsSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Search. Anonymous callers search the public (redacted) index only.

        A restricted search (token holders, by default) is recorded as one `accessed` event:
        who, the case(s) searched, the query and filters, and the reason if one is given."""
        scope = args["scope"]
        token, reason = None, None
        if scope == "restricted" or (scope is None and current_token() is not None):
            token = require_token()
            scope = "restricted"
            reason = given_reason()
        else:
            scope = "public"
        results = run_search(
            archive(),
            args["q"],
            restricted=scope == "restricted",
            page=args["page"],
            page_size=args["page_size"],
            filters=Filters(
                case=args["case"],
                kind=args["kind"],
                language=args["language"],
                event_from=args["event_from"],
                event_to=args["event_to"],
                collected_from=args["collected_from"],
                collected_to=args["collected_to"],
                place=args["place"],
                tags=tuple(args["tag"]),
            ),
            sort=args["sort"],
        )
        if token is not None:
            with writing() as session:
                accountability.record_search(
                    archive(),
                    session,
                    actor=actor_name(token),
                    cases=_searched_cases(args["case"]),
                    query=args["q"],
                    filters=_filters_on_record(args),
                    reason=reason,
                    via="api",
                )
        return {
            "query": results.query,
            "scope": scope,
            "total": results.total,
            "page": results.page,
            "page_size": results.page_size,
            "hits": results.hits,
            "facets": results.facets,
        }


@items_blp.route(
    "/<uid>/similar",
    parameters=[reason_parameter(required=False, when="optional; the search is recorded anyway")],
)
class ItemSimilar(MethodView):
    @token_required
    @items_blp.arguments(SimilarArgsSchema, location="query")
    @items_blp.response(200, SearchHitSchema(many=True))
    @items_blp.doc(security=BEARER)
    def get(self, args: dict[str, Any], uid: str) -> Any:
        """Items that share this one's key words (restricted index), to find corroboration.

        Recorded like a restricted search, with the item and the case(s) searched."""
        token = require_token()
        reason = given_reason()
        item = item_service.get_item(read_session(), uid)
        # Across cases only for a caller granted every case; else within the item's own.
        scope = None if granted_everywhere(token) else item.case.slug
        hits = similar(archive(), item.uid, limit=args["limit"], case=scope)
        with writing() as session:
            accountability.record_search(
                archive(),
                session,
                actor=actor_name(token),
                cases=_searched_cases(scope),
                similar_to=item.uid,
                reason=reason,
                via="api",
            )
        return hits


# ---- exhibits by digest -------------------------------------------------------------


@exhibits_blp.route("/by-digest/<digest>")
class ExhibitByDigest(MethodView):
    @exhibits_blp.response(200, ExhibitLookupSchema)
    @exhibits_blp.alt_response(422, description="Not a SHA-256 digest")
    def get(self, digest: str) -> Any:
        """Which published exhibits have this SHA-256 digest (`sha256:<hex>` or bare hex)?

        Compute the digest on your own machine (`sha256sum FILE`): the file is never sent.
        An unknown digest and the digest of an exhibit that is not published get the same
        answer, `{"published": false, "matches": []}`; text records are never matched."""
        return exhibit_lookup(archive(), read_session(), parse_digest(digest))


BLUEPRINTS = (cases_blp, items_blp, search_blp, exhibits_blp, log_blp, users_blp)

__all__ = ["BLUEPRINTS", "NotFound"]
