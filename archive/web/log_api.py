"""The custody log, in public: checkpoints, proofs and verifier keys.

Nothing here reveals content: a leaf is only a hash of a signed event.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from archive.errors import NotFound
from archive.models import SigningKeyRecord
from archive.services import log as log_service
from archive.web.context import read_session
from evidence.signing import VerifierKey

log_blp = Blueprint(
    "log", __name__, url_prefix="/api/v1/log", description="The custody log (RFC 6962, C2SP)"
)

CACHE_SHORT = "public, max-age=5"
CACHE_LONG = "public, max-age=31536000, immutable"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class InclusionArgs(Schema):
    index = fields.Integer(required=True, validate=validate.Range(min=0))
    size = fields.Integer(load_default=None, validate=validate.Range(min=1))


class ConsistencyArgs(Schema):
    old = fields.Integer(required=True, validate=validate.Range(min=1))
    new = fields.Integer(load_default=None, validate=validate.Range(min=1))


class InclusionProofSchema(Schema):
    index = fields.Integer()
    size = fields.Integer()
    leaf_hash = fields.Function(lambda p: b64(p["leaf_hash"]))
    root_hash = fields.Function(lambda p: b64(p["root_hash"]))
    hashes = fields.Function(
        lambda p: [b64(h) for h in p["hashes"]],
        metadata={"description": "base64, leaf sibling first"},
    )


class ConsistencyProofSchema(Schema):
    old = fields.Integer()
    new = fields.Integer()
    old_root = fields.Function(lambda p: b64(p["old_root"]))
    new_root = fields.Function(lambda p: b64(p["new_root"]))
    hashes = fields.Function(lambda p: [b64(h) for h in p["hashes"]])


def _text(body: str, cache: str) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = cache
    return response


def _default_size(session: Any) -> int:
    latest = log_service.latest_checkpoint(session)
    if latest is None:
        raise NotFound("the log has no checkpoint yet")
    return latest.size


@log_blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    @log_blp.doc(
        responses={
            "200": {
                "description": "C2SP tlog-checkpoint signed note",
                "content": {"text/plain": {}},
            }
        }
    )
    def get(self) -> Response:
        """The latest signed checkpoint (origin, size, root hash, signature)."""
        latest = log_service.latest_checkpoint(read_session())
        if latest is None:
            raise NotFound("the log has no checkpoint yet")
        return _text(latest.note, CACHE_SHORT)


@log_blp.route("/checkpoint/<int:size>")
class CheckpointAtSize(MethodView):
    @log_blp.doc(
        responses={
            "200": {
                "description": "C2SP tlog-checkpoint signed note",
                "content": {"text/plain": {}},
            }
        }
    )
    def get(self, size: int) -> Response:
        """The checkpoint the archive signed at this tree size (they never change)."""
        return _text(log_service.checkpoint_at(read_session(), size).note, CACHE_LONG)


@log_blp.route("/proof/inclusion")
class Inclusion(MethodView):
    @log_blp.arguments(InclusionArgs, location="query")
    @log_blp.response(200, InclusionProofSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Inclusion proof of leaf `index` in the tree of `size` leaves.

        `size` defaults to the latest checkpoint's."""
        session = read_session()
        size = args["size"] or _default_size(session)
        return log_service.inclusion_proof(session, args["index"], size)


@log_blp.route("/proof/consistency")
class Consistency(MethodView):
    @log_blp.arguments(ConsistencyArgs, location="query")
    @log_blp.response(200, ConsistencyProofSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Proof that the tree of `old` leaves is a prefix of the tree of `new` leaves."""
        session = read_session()
        new = args["new"] or _default_size(session)
        return log_service.consistency_proof(session, args["old"], new)


@log_blp.route("/keys")
class Keys(MethodView):
    @log_blp.doc(
        responses={
            "200": {"description": "one C2SP verifier key per line", "content": {"text/plain": {}}}
        }
    )
    def get(self) -> Response:
        """Every key that ever signed for the archive, as C2SP verifier keys (one per line)."""
        records = read_session().scalars(
            select(SigningKeyRecord).order_by(SigningKeyRecord.created_at)
        )
        lines = [VerifierKey(name=r.name, public_key=r.public_key).to_vkey() for r in records]
        return _text("".join(line + "\n" for line in lines), CACHE_SHORT)
