"""The index as plain containers, how its pinyin suffix arrays are searched, and its byte format."""

from __future__ import annotations

import marshal
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from app.search.typos import DeletionIndex

FORMAT_MAGIC = b"ZSBSEARCH"
FORMAT_VERSION = 1

# A suffix entry packs (phrase id, letter offset) into one 32-bit integer; offsets past this many
# letters are not indexed (no service name comes close), and 4 million phrases fit.
OFFSET_BITS = 10
MAX_OFFSET = (1 << OFFSET_BITS) - 1
MAX_PHRASES = 1 << (32 - OFFSET_BITS)

ALPHABETS = ("full", "initials")
SOURCES = ("title", "alias", "keyword")
# Sorts after every character a normalized latin query may hold ([a-z0-9]).
_PAST_LATIN = "\x7f"
_PAST_UNICODE = "\U0010ffff"


@dataclass
class SuffixClass:
    """Syllable-aligned suffixes of one alphabet, source and position, sorted by their text."""

    entries: array = field(default_factory=lambda: array("I"))  # phrase id << bits | offset
    docs: array = field(default_factory=lambda: array("I"))  # the document of each entry


@dataclass
class IndexTables:
    """Everything a query needs, in containers that marshal can write and read."""

    # Documents, numbered items and bundles first, then FAQs (so one bisect tells them apart),
    # each part in tie-break order; tie_ranks orders all of them for ties.
    kinds: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    normalized_titles: list[str] = field(default_factory=list)
    title_order: array = field(default_factory=lambda: array("I"))  # by normalized title
    bonuses: list[float] = field(default_factory=list)  # popularity, already log-scaled
    region_prefixes: list[tuple[str, ...]] = field(default_factory=list)
    faq_start: int = 0  # the first FAQ's number
    tie_ranks: array = field(default_factory=lambda: array("I"))  # number → rank among equals
    tie_order: array = field(default_factory=lambda: array("I"))  # derived: rank → number

    # Chinese: term → documents (sorted) for names and guide texts; keywords are few and shared,
    # so their terms point at distinct keywords, and each keyword at its documents.
    title_terms: dict[str, array] = field(default_factory=dict)
    text_terms: dict[str, array] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    keyword_terms: dict[str, array] = field(default_factory=dict)  # term → keyword numbers
    keyword_docs: dict[str, array] = field(default_factory=dict)
    longest_keyword: int = 0
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # normalized

    # Pinyin: phrases (a title, a title with a synonym key put back, a keyword) in each alphabet,
    # and their syllable-aligned suffixes split by alphabet, source and position.
    phrases: dict[str, list[str]] = field(default_factory=dict)
    syllables: frozenset[str] = frozenset()  # every syllable (and latin word) in a phrase
    syllable_starts: frozenset[str] = frozenset()  # derived: their non-empty prefixes
    longest_syllable: int = 0  # derived
    suffixes: dict[str, SuffixClass] = field(default_factory=dict)
    doc_phrases: list[tuple[int, ...]] = field(default_factory=list)  # derived: name, aliases

    # Typos: pinyin words users type, and their deletion neighbourhood (derived, not stored).
    fuzzy_words: list[str] = field(default_factory=list)
    fuzzy_index: DeletionIndex = field(default_factory=DeletionIndex)


def suffix_class_name(alphabet: str, source: str, position: str) -> str:
    """The key of a suffix class in IndexTables.suffixes."""
    return f"{alphabet}:{source}:{position}"


def prefix_range(tables: IndexTables, alphabet: str, suffixes: SuffixClass,
                 query: str) -> tuple[int, int]:
    """The slice of a suffix class whose suffixes start with query."""
    suffix = _suffix_reader(tables, alphabet)
    low = bisect_left(suffixes.entries, query, key=suffix)
    high = bisect_left(suffixes.entries, query + _PAST_LATIN, lo=low, key=suffix)
    return low, high


def _suffix_reader(tables: IndexTables, alphabet: str) -> Callable[[int], str]:
    phrases = tables.phrases[alphabet]

    def suffix(entry: int) -> str:
        return phrases[entry >> OFFSET_BITS][entry & MAX_OFFSET :]

    return suffix


def title_prefix_range(tables: IndexTables, typed: str) -> tuple[int, int]:
    """The slice of title_order whose normalized titles start with typed."""
    titles = tables.normalized_titles
    low = bisect_left(tables.title_order, typed, key=titles.__getitem__)
    high = bisect_left(tables.title_order, typed + _PAST_UNICODE, lo=low, key=titles.__getitem__)
    return low, high


def known_prefix_length(tables: IndexTables, alphabet: str, suffixes: SuffixClass,
                        text: str) -> int:
    """How many leading letters of text some suffix of the class starts with."""
    suffix = _suffix_reader(tables, alphabet)
    # In sorted order, the suffix sharing the longest start with text is next to where it goes.
    at = bisect_left(suffixes.entries, text, key=suffix)
    longest = 0
    for neighbour in (at - 1, at):
        if 0 <= neighbour < len(suffixes.entries):
            other = suffix(suffixes.entries[neighbour])
            shared = 0
            for mine, theirs in zip(text, other, strict=False):
                if mine != theirs:
                    break
                shared += 1
            longest = max(longest, shared)
    return longest


def dump_tables(tables: IndexTables) -> bytes:
    """The versioned byte form: magic, version, then zlib-compressed marshal of plain values."""
    plain: dict[str, object] = {}
    for item in fields(IndexTables):
        value = getattr(tables, item.name)
        if item.name in _DERIVED:
            continue  # rebuilt on load by derive_lookups: quicker than reading their bytes
        if item.name == "suffixes":
            value = {name: (_array_bytes(c.entries), _array_bytes(c.docs))
                     for name, c in value.items()}
        elif isinstance(value, array):
            value = (value.typecode, _array_bytes(value))
        elif isinstance(value, frozenset):
            value = sorted(value)  # the same index always writes the same bytes
        elif item.name in _POSTINGS:
            value = {term: _array_bytes(docs) for term, docs in value.items()}
        plain[item.name] = value
    # Marshal format 2 has no back-references, so equal indexes give equal bytes (format 3+
    # shares objects by identity, which differs between a built and a loaded index). zlib
    # level 1 takes a third of the time of the default for a few per cent more bytes.
    body = zlib.compress(marshal.dumps(plain, 2), 1)
    return FORMAT_MAGIC + bytes([FORMAT_VERSION]) + body


def load_tables(data: bytes) -> IndexTables:
    """Read what dump_tables wrote; ValueError when it is not that, or another version."""
    header = len(FORMAT_MAGIC)
    if data[:header] != FORMAT_MAGIC or len(data) <= header:
        raise ValueError("not a search index")
    if data[header] != FORMAT_VERSION:
        raise ValueError(f"search index format {data[header]}, this code reads {FORMAT_VERSION}")
    try:
        plain = marshal.loads(zlib.decompress(data[header + 1 :]))
        return _tables_from(plain)
    except (zlib.error, ValueError, EOFError, TypeError, KeyError) as error:
        raise ValueError("corrupt search index") from error


def _tables_from(plain: dict) -> IndexTables:
    tables = IndexTables()
    for item in fields(IndexTables):
        if item.name in _DERIVED:
            continue
        value = plain[item.name]
        if item.name == "suffixes":
            value = {name: SuffixClass(_array_from("I", entries), _array_from("I", docs))
                     for name, (entries, docs) in value.items()}
        elif isinstance(getattr(tables, item.name), array):
            value = _array_from(*value)
        elif item.name in _POSTINGS:
            value = {term: _array_from("I", docs) for term, docs in value.items()}
        elif item.name == "region_prefixes":
            value = [tuple(v) for v in value]
        elif item.name == "syllables":
            value = frozenset(value)
        elif item.name == "synonyms":
            value = {key: tuple(targets) for key, targets in value.items()}
        setattr(tables, item.name, value)
    derive_lookups(tables)
    return tables


def derive_lookups(tables: IndexTables) -> None:
    """Fill the tables that are cheaper to rebuild than to store."""
    tables.tie_order = array("I", bytes(4 * len(tables.tie_ranks)))
    for number, rank in enumerate(tables.tie_ranks):
        tables.tie_order[rank] = number
    tables.syllable_starts = frozenset(s[:n] for s in tables.syllables
                                       for n in range(1, len(s) + 1))
    tables.longest_syllable = max(map(len, tables.syllables), default=0)
    doc_phrases: list[list[int]] = [[] for _ in tables.keys]
    for source in ("title", "alias"):
        starts = tables.suffixes.get(suffix_class_name("full", source, "start"))
        if starts is not None:
            for entry, doc in zip(starts.entries, starts.docs, strict=True):
                doc_phrases[doc].append(entry >> OFFSET_BITS)
    tables.doc_phrases = [tuple(p) for p in doc_phrases]
    tables.fuzzy_index = DeletionIndex.build(tables.fuzzy_words)


_DERIVED = ("tie_order", "doc_phrases", "syllable_starts", "longest_syllable", "fuzzy_index")
_POSTINGS = ("title_terms", "text_terms", "keyword_terms", "keyword_docs")


def _array_bytes(values: array) -> bytes:
    # Stored little-endian so an index written on one machine reads the same on any other.
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _array_from(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values
