"""File drop folder: CSV or XML exports; processed files move to ``done/``, unreadable ones to ``rejected/``.

Cursor: ``{"file", "row", "size", "mtime_ns"}`` (rows already handled in that
file), plus ``"done": true`` or ``"rejected": reason`` once a file is finished.
A file is moved only after its cursor is saved, so a crash resumes mid-file and
never loses a row; a replaced file of the same name (different size or mtime)
is read from its start.

Files are streamed, never loaded whole: a CSV file is first checked in 1 MiB
chunks to be text in the declared encoding (a file that is not is rejected before
any row is published, its reason naming the row), then read row by row. An XML
file is first checked to be well-formed, then its records are parsed one at a
time (for ``record_xpath`` None, ``//name`` or ``a/b/name``; another XPath needs
the whole document).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from connectors.sdk import (
    BadRecord,
    Checkpoint,
    ConfigError,
    Item,
    NativeRecord,
    Source,
)

_XML_DECL_ENCODING = re.compile(rb"^\s*(\xef\xbb\xbf)?<\?xml[^>]*encoding=")
_XML_SAFE = {"resolve_entities": False, "no_network": True, "huge_tree": False}
_SURROGATE = re.compile("[\udc80-\udcff]")
_CHUNK = 1 << 20
DEAD_LETTER_PAYLOAD_MAX = 1024 * 1024  # what the SDK keeps of a dead letter's payload


class FileDropSource(Source):
    """Reads every file matching ``pattern`` in ``folder``, oldest name first, one record per row/element.

    ``encoding``, ``delimiter`` and ``decimal_separator`` describe the export
    (e.g. ``cp1252``, ``;``, ``,`` for a German Excel CSV); decimal fields of the
    mapping's record model should be typed ``LocalDecimal``. ``identity`` names the
    columns that identify a record in the SIS (default: the whole row).
    """

    kind = "file drop"

    def __init__(
        self,
        name: str,
        folder: str | Path,
        *,
        pattern: str = "*.csv",
        format: Literal["csv", "xml"] | None = None,
        encoding: str = "utf-8",
        delimiter: str = ",",
        quotechar: str = '"',
        decimal_separator: str = ".",
        identity: Sequence[str] = (),
        record_xpath: str | None = None,
        poll_interval: float | None = None,
    ) -> None:
        super().__init__(name, poll_interval=poll_interval)
        problems = []
        try:
            codecs.lookup(encoding)
        except LookupError:
            problems.append(f"{name}: unknown encoding {encoding!r} (use utf-8, cp1252, iso-8859-1 ...)")
        if len(delimiter) != 1:
            problems.append(f"{name}: delimiter must be one character, got {delimiter!r}")
        if decimal_separator not in (".", ","):
            problems.append(f"{name}: decimal_separator must be '.' or ',', got {decimal_separator!r}")
        if problems:
            raise ConfigError(problems)
        self.folder = Path(folder)
        self.pattern = pattern
        self.format = format or ("xml" if pattern.lower().endswith(".xml") else "csv")
        self.encoding = encoding
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.decimal_separator = decimal_separator
        self.identity = tuple(identity)
        self.record_xpath = record_xpath
        self._stat: tuple[int, int] = (0, 0)

    @property
    def done_dir(self) -> Path:
        return self.folder / "done"

    @property
    def rejected_dir(self) -> Path:
        return self.folder / "rejected"

    def describe(self) -> str:
        return f"file drop {self.name!r} ({self.folder}/{self.pattern})"

    def check(self) -> str:
        if not self.folder.is_dir():
            raise ConfigError(f"{self.name}: folder {self.folder} does not exist; create it or fix the folder setting")
        probe = self.folder / ".hub-write-probe"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"{self.name}: cannot write in {self.folder} ({exc}); processed files move to done/") from exc
        return f"{self.folder}: {len(self._files())} file(s) waiting"

    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(self.pattern) if p.is_file())

    def read(self, cursor: Any) -> Iterator[Item]:
        if cursor and (cursor.get("done") or cursor.get("rejected")):
            self.committed(cursor)  # a crash came between saving the cursor and moving the file
        for path in self._files():
            start = 0
            if cursor and cursor.get("file") == path.name and _same_file(path, cursor):
                start = int(cursor.get("row", 0))
            yield from self._read_file(path, start)

    def _cursor(self, path: Path, row: int, **extra: Any) -> dict[str, Any]:
        return {"file": path.name, "row": row, "size": self._stat[0], "mtime_ns": self._stat[1], **extra}

    def _read_file(self, path: Path, start: int) -> Iterator[Item]:
        st = path.stat()  # once per file: the cursor names the file version it belongs to
        self._stat = (st.st_size, st.st_mtime_ns)
        for item in self._xml(path, start) if self.format == "xml" else self._csv(path, start):
            yield item
            if isinstance(item, BadRecord) and item.cursor.get("rejected"):
                yield Checkpoint(item.cursor, f"{path.name} rejected")  # saved at once, then moved

    def _reject(self, path: Path, payload: bytes, reason: str, kind: str) -> BadRecord:
        return BadRecord(payload, f"{path.name}: {reason}", path.name, self._cursor(path, 0, rejected=reason), kind)

    @property
    def _text_encoding(self) -> str:
        return "utf-8-sig" if self.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else self.encoding

    def _csv(self, path: Path, start: int) -> Iterator[Item]:
        """Rows streamed from the file; a file that is not wholly in the declared encoding is rejected before
        any of its rows is read (checked in a first streamed pass), its reason naming the row."""
        undecodable = _first_undecodable(path, self._text_encoding)
        if undecodable is not None:
            yield self._undecodable(path, undecodable)
            return
        with path.open("rb") as raw:
            lines = _LineTap(io.TextIOWrapper(raw, encoding=self._text_encoding, newline=""))
            try:
                yield from self._csv_rows(path, lines, start)
            except UnicodeDecodeError as exc:  # the file was changed after the first pass
                yield self._reject(path, exc.object[exc.start:exc.start + 256],
                                   f"not {self.encoding} text after line {lines.number} ({exc.reason}); "
                                   "declare the export's encoding in the settings (e.g. cp1252)", "encoding")

    def _undecodable(self, path: Path, at: tuple[int, int]) -> BadRecord:
        offset, byte = at
        row, line, payload = _locate_undecodable(path, self._text_encoding, self.delimiter, self.quotechar)
        where = f"{'the header' if row == 0 else f'row {row}'} (line {line})" if row is not None else f"line {line}"
        return self._reject(path, payload or _head(path),
                            f"not {self.encoding} text: {where}, byte 0x{byte:02x} at offset {offset}; "
                            "declare the export's encoding in the settings (e.g. cp1252)", "encoding")

    def _row_payload(self, lines: list[str]) -> bytes:
        return "".join(lines).encode(self.encoding, "replace")

    def _csv_rows(self, path: Path, lines: _LineTap, start: int) -> Iterator[Item]:
        reader = csv.reader(lines, delimiter=self.delimiter, quotechar=self.quotechar, strict=True)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            yield self._reject(path, b"", "empty file (no header row)", "parse")
            return
        except csv.Error as exc:
            yield self._reject(path, self._row_payload(lines.taken + lines.rest()), f"unreadable header: {exc}", "parse")
            return
        head = self._row_payload(lines.taken)
        if len(header) < 2 or len(set(header)) != len(header) or any(not h for h in header):
            yield self._reject(path, head, f"header {header!r} is not a list of distinct column names "
                               f"(is the delimiter {self.delimiter!r} right?)", "parse")
            return
        missing = [c for c in self.identity if c not in header]
        if missing:
            yield self._reject(path, head, f"identity column(s) {missing} not in the header {header}", "parse")
            return
        row = 0
        context = {"decimal_separator": self.decimal_separator, "file": path.name}
        width = len(header)
        while True:
            lines.taken.clear()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                if row > start:  # the rest of the file cannot be split into rows: one dead letter for it
                    yield BadRecord(self._row_payload(lines.taken + lines.rest()),
                                    f"{path.name} line {lines.number}: {exc}", f"{path.name} line {lines.number}",
                                    self._cursor(path, row), "parse")
                break
            row += 1
            if row <= start:
                continue
            payload = self._row_payload(lines.taken)
            location = f"{path.name} row {row} (line {lines.number})"
            if not "".join(fields).strip():  # a blank row (every field empty or spaces)
                continue
            if len(fields) != width:
                yield BadRecord(payload, f"{location}: {len(fields)} fields, the header has {width} "
                                f"(delimiter {self.delimiter!r}, quote {self.quotechar!r})", location,
                                self._cursor(path, row), "parse")
                continue
            data = dict(zip(header, map(str.strip, fields)))  # as many fields as the header: checked above
            identity = "|".join([data[c] for c in self.identity])
            yield NativeRecord(data, payload, identity, location, self._cursor(path, row), context)
        yield Checkpoint(self._cursor(path, row, done=True), f"{path.name} finished")

    def _xml(self, path: Path, start: int) -> Iterator[Item]:
        declared = _XML_DECL_ENCODING.match(_head(path, 512)) is not None
        encoding = None if declared else self.encoding
        problem = _xml_problem(path, encoding)  # a first streamed pass: a broken file is rejected whole
        if problem is not None:
            yield self._reject(path, _head(path), f"not well-formed XML: {problem}", "parse")
            return
        context = {"decimal_separator": self.decimal_separator, "file": path.name}
        row = 0
        try:
            for row, el in enumerate(_xml_records(path, encoding, self.record_xpath), start=1):
                if row <= start:
                    continue
                data = element_dict(el)
                identity = "|".join(str(data.get(c, "")) for c in self.identity)
                location = f"{path.name} record {row} (line {el.sourceline})"
                yield NativeRecord(data, etree.tostring(el, with_tail=False), identity, location,
                                   self._cursor(path, row), context)
        except etree.XMLSyntaxError as exc:  # the file was changed after the first pass
            yield self._reject(path, _head(path), f"not well-formed XML: {exc}", "parse")
            return
        yield Checkpoint(self._cursor(path, row, done=True), f"{path.name} finished")

    def committed(self, cursor: Any) -> None:
        if not cursor or not (cursor.get("done") or cursor.get("rejected")):
            return
        path = self.folder / cursor["file"]
        if not path.is_file() or not _same_file(path, cursor):
            return
        if cursor.get("rejected"):
            target = _free_name(self.rejected_dir, path.name)
            shutil.move(str(path), target)
            target.with_name(target.name + ".reason.txt").write_text(str(cursor["rejected"]) + "\n", encoding="utf-8")
        else:
            shutil.move(str(path), _free_name(self.done_dir, path.name))

    def rewind(self) -> None:
        if self.done_dir.is_dir():
            for path in sorted(self.done_dir.glob(self.pattern)):
                shutil.move(str(path), _free_name(self.folder, path.name))


def element_dict(el: Any) -> dict[str, Any]:
    """A flat dict of an XML record: attributes as ``@name``, child elements by local name (text)."""
    data: dict[str, Any] = {f"@{etree.QName(k).localname}": v for k, v in el.attrib.items()}
    for child in el:
        if isinstance(child.tag, str):
            data[etree.QName(child).localname] = (child.text or "").strip()
    return data


def _same_file(path: Path, cursor: dict[str, Any]) -> bool:
    st = path.stat()
    return cursor.get("size") == st.st_size and cursor.get("mtime_ns") == st.st_mtime_ns


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    return target


class _LineTap:
    """Feeds a text stream's lines to csv.reader and remembers which ones made the current record (its bytes)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.number = 0
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        self.taken.append(line)
        return line

    def rest(self, limit: int = DEAD_LETTER_PAYLOAD_MAX) -> list[str]:
        """The following lines, up to about ``limit`` characters (a dead letter keeps no more)."""
        out, size = [], 0
        for line in self._lines:
            self.number += 1
            if size < limit:
                out.append(line)
                size += len(line)
        return out


def _head(path: Path, size: int = 64 * 1024) -> bytes:
    """The start of a file: the payload of a whole-file rejection (the file itself moves to rejected/)."""
    with path.open("rb") as fh:
        return fh.read(size)


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int] | None:
    """(offset, value) of the first byte that is not ``encoding`` text, reading 1 MiB at a time; None if all is."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start, exc.object[exc.start]
            if not chunk:
                return None
            offset += len(chunk)


def _locate_undecodable(path: Path, encoding: str, delimiter: str, quotechar: str) -> tuple[int | None, int, bytes]:
    """(row, line, original bytes) of the first record holding an undecodable byte (row 0: the header).

    Only on the error path: the file is read again with undecodable bytes kept as surrogates.
    """
    back = "utf-8" if encoding == "utf-8-sig" else encoding  # encoding back must not add a byte-order mark
    with path.open("rb") as raw:
        lines = _LineTap(io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline=""))
        reader = csv.reader(lines, delimiter=delimiter, quotechar=quotechar)
        row = 0
        try:
            while True:
                lines.taken.clear()
                next(reader)
                text = "".join(lines.taken)
                if _SURROGATE.search(text):
                    return row, lines.number, text.encode(back, "surrogateescape")
                row += 1
        except (StopIteration, csv.Error):
            text = "".join(lines.taken)
            if _SURROGATE.search(text):
                return None, lines.number, text.encode(back, "surrogateescape")[:DEAD_LETTER_PAYLOAD_MAX]
            return None, lines.number, b""


def _xml_problem(path: Path, encoding: str | None) -> str | None:
    """Why the file is not well-formed XML, streaming through it without keeping the tree; None if it is."""
    try:
        for _, el in etree.iterparse(str(path), events=("end",), encoding=encoding, **_XML_SAFE):
            _free(el)
    except etree.XMLSyntaxError as exc:
        return str(exc)
    except ValueError as exc:  # an unknown encoding name, for instance
        return str(exc)
    return None


_SIMPLE_PATH = re.compile(r"^(//[A-Za-z_][\w.-]*|/?[A-Za-z_][\w.-]*(/[A-Za-z_][\w.-]*)*)$")


def _xml_records(path: Path, encoding: str | None, record_xpath: str | None) -> Iterator[Any]:
    """Record elements in document order. Streamed (each one freed once handed out) when the records are the
    root's children, ``//name`` or a plain ``a/b/name`` path (a record inside a record is part of the outer
    one); any other XPath needs the whole document in memory."""
    if record_xpath is not None and not _SIMPLE_PATH.match(record_xpath):
        root = etree.parse(str(path), etree.XMLParser(encoding=encoding, **_XML_SAFE)).getroot()
        yield from (e for e in root.xpath(record_xpath) if isinstance(e.tag, str))
        return
    steps = [] if record_xpath is None else record_xpath.lstrip("/").split("/")

    def is_record(tags: list[str]) -> bool:
        if record_xpath is None:
            return len(tags) == 2
        if record_xpath.startswith("//"):
            return tags[-1] == steps[-1]
        return tags == steps if record_xpath.startswith("/") else tags[1:] == steps

    tags: list[str] = []
    within: list[bool] = []  # per open element: a record, or inside one
    for event, el in etree.iterparse(str(path), events=("start", "end"), encoding=encoding, **_XML_SAFE):
        if event == "start":
            tags.append(el.tag)
            within.append((bool(within) and within[-1]) or is_record(tags))
            continue
        tags.pop()
        if within.pop() and not (within and within[-1]):
            yield el
            _free(el)


def _free(el: Any) -> None:
    """Drop a handled element and the siblings before it: memory stays flat however long the file."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    while parent is not None and el.getprevious() is not None:
        del parent[0]
