"""``temoin-verify``: check an evidence bundle offline and print a report a lawyer can read.

Usage::

    temoin-verify BUNDLE [--file EXHIBIT] [--key VKEY ...] [--since OLD_CHECKPOINT_FILE] [--json]

Exit status: 0 when every check holds, 1 when one fails (the report names the first
failure; a bundle that cannot be parsed counts as failed, since that is what tampering
looks like), 2 when the command cannot run (bad usage, a file that cannot be read,
a malformed ``--key`` or ``--since``). Never prints a Python traceback.

Both formats are read, told apart by their ``format`` member: a full bundle
(``temoin-bundle/v1``, :mod:`evidence.bundle`) and a public record
(``temoin-public-bundle/v1``, :mod:`evidence.public_bundle`), for which ``--file`` and
``--since`` do not apply (it carries neither the original's digest nor consistency proofs).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from evidence.bundle import (
    Bundle,
    TimelineEntry,
    VerificationReport,
    parse_bundle,
    verify_bundle,
)
from evidence.errors import KeyFormatError, VerificationError
from evidence.public_bundle import FORMAT as PUBLIC_FORMAT
from evidence.public_bundle import (
    PublicBundle,
    PublicItem,
    PublicReport,
    parse_public_bundle,
    verify_public_bundle,
)
from evidence.signing import VerifierKey

__all__ = ["main"]

EXIT_VERIFIED = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class _UsageError(Exception):
    """The command cannot run: bad arguments or unreadable input (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see temoin-verify --help)")


def _parser() -> _Parser:
    parser = _Parser(
        prog="temoin-verify",
        description=(
            "Check a Témoin evidence bundle offline: the exhibit's digest, the signed "
            "custody events and their hash chain, the archive's signed log checkpoint, "
            "and that every event is in the log."
        ),
        epilog=(
            "Exit status: 0 verified, 1 a check failed, 2 the command could not run. "
            "Without --key, the log key is taken from the bundle itself and is not pinned."
        ),
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="the bundle file (JSON)")
    parser.add_argument("--file", metavar="EXHIBIT", help="the exhibit's original file")
    parser.add_argument(
        "--key",
        metavar="VKEY",
        action="append",
        help="the archive's published verifier key (name+id+base64), or a file holding "
        "one per line; may be repeated",
    )
    parser.add_argument(
        "--since",
        metavar="OLD_CHECKPOINT_FILE",
        help="a signed checkpoint you kept from earlier: check the log has only grown since",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


def _text(path: str, what: str) -> str:
    try:
        return _read(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise _UsageError(f"{what} {path} is not UTF-8 text") from None


def _keys(values: Sequence[str]) -> list[VerifierKey]:
    keys: list[VerifierKey] = []
    for value in values:
        lines = [value]
        if Path(value).is_file():  # a file of vkeys, one a line
            lines = [line.strip() for line in _text(value, "key file").splitlines()]
        for line in filter(None, lines):
            try:
                keys.append(VerifierKey.parse(line))
            except KeyFormatError as exc:
                raise _UsageError(f"--key: {exc}") from None
    return keys


def _clean(value: object) -> str:
    """Text from the bundle, made safe for a terminal: controls and format characters escaped.

    A bundle is untrusted input; an actor named ``\\x1b[2K✓ VERIFIED`` or one using a
    right-to-left override must not be able to rewrite the report on screen.
    """
    out: list[str] = []
    for char in str(value):
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def _header(bundle: Bundle, out: TextIO) -> None:
    item = bundle.item
    print("Témoin evidence bundle (temoin-bundle/v1)", file=out)
    print(f"  Item:    {_clean(item.id)} — {_clean(item.title)}", file=out)
    print(
        f"           {_clean(item.kind)}, {_clean(item.language)}, {_clean(item.media_type)}, "
        f"{item.size} bytes",
        file=out,
    )
    print(f"  Case:    {_clean(item.case)}", file=out)
    print(f"  Digest:  {item.digest}", file=out)
    print(file=out)


def _summary(details: dict[str, object]) -> str:
    shown = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False, sort_keys=True)}"
        for key, value in sorted(details.items())
    )
    return shown if len(shown) <= 100 else shown[:99] + "…"


def _checks(report: VerificationReport | PublicReport, out: TextIO) -> None:
    for check in report.checks:
        print(f"✓ {check.name}: {_clean(check.detail)}", file=out)
    for item in report.not_checked:
        print(f"– NOT CHECKED: {_clean(item)}", file=out)
    for warning in report.warnings:
        print(f"! WARNING: {warning}", file=out)
    print(file=out)


def _timeline(timeline: Sequence[TimelineEntry], title: str, out: TextIO) -> None:
    print(title, file=out)
    for entry in timeline:
        when = entry.at.replace("T", " ").replace("Z", " UTC")
        pinned = "pinned key" if entry.key_pinned else "key from the bundle"
        print(
            f"  {entry.seq:>3}. {when}  {entry.type:<11} by {_clean(entry.actor)}",
            file=out,
        )
        print(
            f"       signed by key {entry.key_id} ({_clean(entry.key_name)}, {pinned}); "
            f"log index {entry.log_index}",
            file=out,
        )
        if entry.details:
            print(f"       details: {_clean(_summary(entry.details))}", file=out)
    print(file=out)


def _report(report: VerificationReport, out: TextIO) -> None:
    _checks(report, out)
    _timeline(
        report.timeline, "Custody timeline (who held the item when, and which key signed what)", out
    )
    checkpoint = report.checkpoint
    verdict = (
        f"VERIFIED: item {_clean(report.item.id)} and its {len(report.timeline)} custody "
        f"events are in log {_clean(checkpoint.origin)} at size {checkpoint.size}"
    )
    if not report.log_key_pinned:
        verdict += " (log key NOT pinned: see the warning above)"
    if not report.exhibit_checked:
        verdict += " (no exhibit file was compared)"
    print(verdict, file=out)


def _public_header(item: PublicItem, out: TextIO) -> None:
    print("Témoin public record (temoin-public-bundle/v1)", file=out)
    print(f"  Record:  {_clean(item.id)} — {_clean(item.title)}", file=out)
    print(f"           {_clean(item.kind)}, {_clean(item.language)}", file=out)
    print(f"  Case:    {_clean(item.case)}", file=out)
    print(file=out)


def _public_report(report: PublicReport, out: TextIO) -> None:
    _checks(report, out)
    print("Public text (as verified; [label] marks a withheld passage)", file=out)
    for line in report.public_text.split("\n"):
        print(f"  | {_clean(line)}", file=out)
    print(file=out)
    _timeline(report.timeline, "Custody events shown (the others are withheld)", out)
    checkpoint = report.checkpoint
    print(
        f"VERIFIED: the public text of record {_clean(report.item.id)} is an authentic part of "
        f"the original sealed in log {_clean(checkpoint.origin)} at size {checkpoint.size}"
        + ("" if report.log_key_pinned else " (log key NOT pinned: see the warning above)"),
        file=out,
    )
    print(f"          {_clean(report.statement)}.", file=out)


def _public(data: bytes, trusted: list[VerifierKey] | None, as_json: bool, out: TextIO) -> int:
    """A public record's bundle: its text, proven against the sealed commitment."""
    bundle: PublicBundle | None = None
    try:
        bundle = parse_public_bundle(data)
        if not as_json:
            _public_header(bundle.item, out)
        report = verify_public_bundle(bundle, trusted_keys=trusted)
    except VerificationError as exc:
        message = str(exc) if bundle is not None else f"the bundle is not a valid bundle: {exc}"
        if as_json:
            json.dump({"verdict": "failed", "error": message}, out, ensure_ascii=False)
            out.write("\n")
        else:
            print(f"FAILED: {_clean(message)}", file=out)
        return EXIT_FAILED
    if as_json:
        json.dump(report.to_json_object(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        _public_report(report, out)
    return EXIT_VERIFIED


def _format_of(data: bytes) -> object:
    try:
        root = json.loads(data)
    except (ValueError, RecursionError):
        return None  # the full-bundle parser says what is wrong
    return root.get("format") if isinstance(root, dict) else None


def _run(argv: Sequence[str] | None, out: TextIO) -> int:
    args = _parser().parse_args(argv)
    data = _read(args.bundle, "bundle")
    if _format_of(data) == PUBLIC_FORMAT:
        if args.file is not None or args.since is not None:
            raise _UsageError(
                "--file and --since apply to full bundles, not to a public record: it carries "
                "no digest of the original to compare a file with, and no consistency proofs"
            )
        return _public(data, _keys(args.key) if args.key else None, args.json, out)
    exhibit = None
    if args.file is not None:
        exhibit = Path(args.file)
        try:
            exhibit.open("rb").close()
        except OSError as exc:
            raise _UsageError(f"cannot read exhibit file {args.file}: {exc.strerror}") from None
    trusted = _keys(args.key) if args.key else None
    since = _text(args.since, "checkpoint file") if args.since is not None else None
    bundle: Bundle | None = None
    try:
        bundle = parse_bundle(data)
        if not args.json:
            _header(bundle, out)
        report = verify_bundle(
            bundle, exhibit=exhibit, trusted_keys=trusted, since_checkpoint=since
        )
    except VerificationError as exc:
        message = str(exc) if bundle is not None else f"the bundle is not a valid bundle: {exc}"
        if args.json:
            json.dump({"verdict": "failed", "error": message}, out, ensure_ascii=False)
            out.write("\n")
        else:
            print(f"FAILED: {_clean(message)}", file=out)
        return EXIT_FAILED
    if args.json:
        json.dump(report.to_json_object(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        _report(report, out)
    return EXIT_VERIFIED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``temoin-verify``; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return _run(argv, sys.stdout)
    except _UsageError as exc:
        print(f"temoin-verify: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except SystemExit:  # argparse's --help has printed the help
        return EXIT_VERIFIED
    except KeyboardInterrupt:
        print("temoin-verify: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # never a traceback; the failure is still not a pass
        print(f"temoin-verify: could not verify: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover (run by the subprocess tests)
    sys.exit(main())
