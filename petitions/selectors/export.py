"""Signatures as CSV for staff: names and addresses decrypted, formulas defused."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from petitions.models import Signature

SIGNATURE_CSV_HEADER = (
    "public_id", "petition", "status", "invalid_reason", "display", "name", "email",
    "country", "created_at", "confirmed_at", "source",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def signatures_csv_rows(*, signatures: QuerySet[Signature]) -> Iterator[list[str]]:
    """The header, then one row per signature, names and addresses decrypted (staff only).

    Reads in chunks, so an export of a large petition streams without loading it whole.
    """
    yield list(SIGNATURE_CSV_HEADER)
    rows = signatures.select_related("petition", "supporter").order_by("pk")
    for signature in rows.iterator(chunk_size=2000):
        supporter = signature.supporter
        values: list[object] = [
            signature.public_id,
            signature.petition.slug,
            signature.status,
            signature.invalid_reason,
            signature.display,
            # What the person gave on this signature, not what they last gave anywhere;
            # the address only while this signature still holds the person.
            signature.name if supporter else "",
            supporter.email if supporter else "",
            str(signature.country or "") if supporter else "",
            signature.created_at.isoformat(),
            signature.confirmed_at.isoformat() if signature.confirmed_at else "",
            signature.source,
        ]
        yield [csv_cell(value) for value in values]


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def signatures_csv_lines(*, signatures: QuerySet[Signature]) -> Iterator[str]:
    """The export as text lines to stream, starting with a byte-order mark."""
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the BOM makes spreadsheets read UTF-8 (Cyrillic names) correctly
    for row in signatures_csv_rows(signatures=signatures):
        yield writer.writerow(row)
