"""File drop folder: CSV or XML exports; processed files move to ``done/``, unreadable ones to ``rejected/``.

Cursor: ``{"file", "row", "size", "mtime_ns"}`` (rows already handled in that
file), plus ``"done": true`` or ``"rejected": reason`` once a file is finished.
A file is moved only after its cursor is saved, so a crash resumes mid-file and
never loses a row; a replaced file of the same name (different size or mtime)
is read from its start.
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

from connectors.sdk import BadRecord, Checkpoint, ConfigError, Item, NativeRecord, Source

_XML_DECL_ENCODING = re.compile(rb"^\s*(\xef\xbb\xbf)?<\?xml[^>]*encoding=")


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
        raw = path.read_bytes()
        for item in self._xml(path, raw, start) if self.format == "xml" else self._csv(path, raw, start):
            yield item
            if isinstance(item, BadRecord) and item.cursor.get("rejected"):
                yield Checkpoint(item.cursor, f"{path.name} rejected")  # saved at once, then moved

    def _reject(self, path: Path, raw: bytes, reason: str, kind: str) -> BadRecord:
        return BadRecord(raw, f"{path.name}: {reason}", path.name, self._cursor(path, 0, rejected=reason), kind)

    def _csv(self, path: Path, raw: bytes, start: int) -> Iterator[Item]:
        try:
            text = raw.decode("utf-8-sig" if self.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else self.encoding)
        except UnicodeDecodeError as exc:
            yield self._reject(path, raw, f"not {self.encoding} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                               "declare the export's encoding in the settings (e.g. cp1252)", "encoding")
            return
        lines = _LineTap(list(io.StringIO(text, newline="")))
        reader = csv.reader(lines, delimiter=self.delimiter, quotechar=self.quotechar, strict=True)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            yield self._reject(path, raw, "empty file (no header row)", "parse")
            return
        except csv.Error as exc:
            yield self._reject(path, raw, f"unreadable header: {exc}", "parse")
            return
        if len(header) < 2 or len(set(header)) != len(header) or any(not h for h in header):
            yield self._reject(path, raw, f"header {header!r} is not a list of distinct column names "
                               f"(is the delimiter {self.delimiter!r} right?)", "parse")
            return
        missing = [c for c in self.identity if c not in header]
        if missing:
            yield self._reject(path, raw, f"identity column(s) {missing} not in the header {header}", "parse")
            return
        row = 0
        context = {"decimal_separator": self.decimal_separator, "file": path.name}
        while True:
            lines.taken.clear()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                rest = "".join(lines.taken) + "".join(lines.rest())
                if row > start:
                    yield BadRecord(rest.encode(self.encoding, "replace"), f"{path.name} line {lines.number}: {exc}",
                                    f"{path.name} line {lines.number}", self._cursor(path, row), "parse")
                break
            row += 1
            if row <= start:
                continue
            payload = "".join(lines.taken).encode(self.encoding, "replace")
            location = f"{path.name} row {row} (line {lines.number})"
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                yield BadRecord(payload, f"{location}: {len(fields)} fields, the header has {len(header)} "
                                f"(delimiter {self.delimiter!r}, quote {self.quotechar!r})", location,
                                self._cursor(path, row), "parse")
                continue
            data = dict(zip(header, (f.strip() for f in fields), strict=True))
            identity = "|".join(data[c] for c in self.identity)
            yield NativeRecord(data, payload, identity, location, self._cursor(path, row), context)
        yield Checkpoint(self._cursor(path, row, done=True), f"{path.name} finished")

    def _xml(self, path: Path, raw: bytes, start: int) -> Iterator[Item]:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                 encoding=None if _XML_DECL_ENCODING.match(raw) else self.encoding)
        try:
            root = etree.fromstring(raw, parser)
        except (etree.XMLSyntaxError, ValueError) as exc:
            yield self._reject(path, raw, f"not well-formed XML: {exc}", "parse")
            return
        elements = root.xpath(self.record_xpath) if self.record_xpath else list(root)
        context = {"decimal_separator": self.decimal_separator, "file": path.name}
        row = 0
        for row, el in enumerate((e for e in elements if isinstance(e.tag, str)), start=1):
            if row <= start:
                continue
            data = element_dict(el)
            identity = "|".join(str(data.get(c, "")) for c in self.identity)
            location = f"{path.name} record {row} (line {el.sourceline})"
            yield NativeRecord(data, etree.tostring(el), identity, location, self._cursor(path, row), context)
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
    """Feeds lines to csv.reader and remembers which ones made the current record (its original bytes)."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._i = 0
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        if self._i >= len(self._lines):
            raise StopIteration
        line = self._lines[self._i]
        self._i += 1
        self.taken.append(line)
        return line

    @property
    def number(self) -> int:
        return self._i

    def rest(self) -> list[str]:
        rest, self._i = self._lines[self._i:], len(self._lines)
        return rest
