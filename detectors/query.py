"""The boolean query language of ``kind: keyword``.

::

    query := or
    or    := and ("OR" and)*
    and   := unary (["AND"] unary)*        two terms side by side mean AND
    unary := ("NOT" | "-") unary | near
    near  := atom ("NEAR/n" atom)*         both terms within n words, either order
    atom  := "a phrase" | word | word* | "(" or ")"

Operators are upper case (``and`` is a word); ``NEAR`` alone means ``NEAR/5``.
A word matches its inflections (``explosion`` ~ ``explosions``, ``удари`` ~
``ударів``: both sides are stemmed, ``detectors.stemming``); a quoted phrase or
a word marked ``=`` (``=Mir``) matches exactly those words. A word ending in
``*`` matches words it begins (``negotiat*``). Matching is on folded words
(``detectors.text``), so case, accents and word boundaries are right in any
script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from detectors.stemming import stem
from detectors.text import FieldText, words

Spans = dict[str, list[tuple[str, tuple[int, int]]]]  # field → [(term, char span)]


class QuerySyntaxError(ValueError):
    """A query that does not parse; the message shows where."""


@dataclass(frozen=True)
class Term:
    """A word or phrase: exact (quoted, ``=``), a prefix (``word*``) or, by default, stemmed."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False
    exact: bool = False

    @property
    def stemmed(self) -> bool:
        return not (self.exact or self.prefix)

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """What is looked up: the stems of the words, or the words themselves."""
        return tuple(stem(w) for w in self.words) if self.stemmed else self.words

    def hits(self, field: FieldText) -> list[tuple[int, int]]:
        return field.phrase(self.keys, self.prefix, self.stemmed)


@dataclass(frozen=True)
class Near:
    """Any of ``left`` within ``distance`` words of any of ``right``."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class AllOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


Node = Term | Near | Not | AllOf | AnyOf


@dataclass
class Match:
    """Outcome of a query on an article: did it match, and where (positive terms only)."""

    matched: bool
    spans: Spans = field(default_factory=dict)

    @property
    def terms(self) -> list[str]:
        return sorted({term for hits in self.spans.values() for term, _ in hits})


_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*")|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"]+))')
_NEAR = re.compile(r"^NEAR(?:/(\d+))?$")


def _lex(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QuerySyntaxError(f"unexpected {text[pos:].strip()[:10]!r} at character {pos + 1}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, message: str) -> QuerySyntaxError:
        token = self.peek()
        where = f"at character {token[2] + 1}" if token else "at the end"
        return QuerySyntaxError(f"{message} {where} of {self.text!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("the query is empty")
        node = self.or_()
        if self.peek() is not None:
            raise self.fail("unexpected " + repr(self.peek()[1]))  # type: ignore[index]
        return node

    def is_op(self, *names: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1] in names

    def or_(self) -> Node:
        children = [self.and_()]
        while self.is_op("OR"):
            self.i += 1
            children.append(self.and_())
        return children[0] if len(children) == 1 else AnyOf(tuple(children))

    def and_(self) -> Node:
        children = [self.unary()]
        while (token := self.peek()) is not None and token[0] != "close" and not self.is_op("OR"):
            if self.is_op("AND"):
                self.i += 1
            children.append(self.unary())
        return children[0] if len(children) == 1 else AllOf(tuple(children))

    def unary(self) -> Node:
        if self.is_op("NOT"):
            self.i += 1
            return Not(self.unary())
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].startswith("-") and len(token[1]) > 1:
            self.i += 1
            return Not(self.term(token[1][1:], token[2]))
        return self.near()

    def near(self) -> Node:
        node = self.atom()
        while (token := self.peek()) is not None and token[0] == "word" and _NEAR.match(token[1]):
            distance = int(_NEAR.match(token[1]).group(1) or 5)  # type: ignore[union-attr]
            self.i += 1
            node = Near(self.operand(node), self.operand(self.atom()), distance)
        return node

    def operand(self, node: Node) -> tuple[Term, ...]:
        if isinstance(node, Term):
            return (node,)
        if isinstance(node, AnyOf) and all(isinstance(c, Term) for c in node.children):
            return tuple(c for c in node.children if isinstance(c, Term))
        raise QuerySyntaxError(f"NEAR joins words, phrases or (a OR b ...) groups of them, in {self.text!r}")

    def atom(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("a word, a phrase or '(' is missing")
        kind, value, pos = token
        if kind == "open":
            self.i += 1
            node = self.or_()
            if self.peek() is None or self.peek()[0] != "close":  # type: ignore[index]
                raise self.fail("')' is missing")
            self.i += 1
            return node
        if kind == "close" or value in ("AND", "OR", "NOT") or _NEAR.match(value):
            raise self.fail(f"a word or phrase is expected, not {value!r},")
        self.i += 1
        if kind == "phrase":
            return self.term(value.strip('"'), pos, exact=True)
        return self.term(value, pos)

    def term(self, text: str, pos: int, exact: bool = False) -> Term:
        if text.startswith("="):
            text, exact = text[1:], True
        prefix = text.endswith("*")
        parts = tuple(words(text.rstrip("*")))
        if not parts:
            raise QuerySyntaxError(f"{text!r} at character {pos + 1} has no letters or digits")
        return Term(text, parts, prefix, exact)


def parse(text: str) -> Node:
    """Parse a query; raises ``QuerySyntaxError`` saying where it went wrong."""
    return _Parser(text).parse()


def terms_query(any_: tuple[str, ...], all_: tuple[str, ...], none: tuple[str, ...]) -> Node:
    """The ``any`` / ``all`` / ``none`` lists as a query node."""
    parts: list[Node] = []
    if any_:
        parts.append(AnyOf(tuple(literal(t) for t in any_)))
    parts.extend(literal(t) for t in all_)
    parts.extend(Not(literal(t)) for t in none)
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def literal(text: str) -> Term:
    """A term of a list (``any:``, ``terms:`` ...): stemmed, exact if quoted or marked ``=``."""
    exact = text.startswith("=") or (len(text) > 1 and text[0] == text[-1] == '"')
    bare = text[1:] if text.startswith("=") else text.strip('"') if exact else text
    parts = tuple(words(bare))
    if not parts:
        raise QuerySyntaxError(f"{text!r} has no letters or digits")
    return Term(bare, parts, exact=exact)


def evaluate(node: Node, fields: Mapping[str, FieldText]) -> Match:
    """Match ``node`` against the article's fields (any field may satisfy any term)."""
    if isinstance(node, Term):
        spans: Spans = {}
        for name, text in fields.items():
            hits = node.hits(text)
            if hits:
                spans[name] = [(node.text, text.char_span(a, b)) for a, b in hits]
        return Match(bool(spans), spans)
    if isinstance(node, Near):
        spans = {}
        for name, text in fields.items():
            left = [(t, hit) for t in node.left for hit in t.hits(text)]
            right = [(t, hit) for t in node.right for hit in t.hits(text)] if left else []
            found: list[tuple[str, tuple[int, int]]] = []
            for lt, a in left:
                for rt, b in right:
                    gap = b[0] - a[1] if b[0] >= a[1] else a[0] - b[1]
                    if a != b and gap <= node.distance:
                        for hit in ((lt.text, text.char_span(*a)), (rt.text, text.char_span(*b))):
                            if hit not in found:
                                found.append(hit)
            if found:
                spans[name] = found
        return Match(bool(spans), spans)
    if isinstance(node, Not):
        return Match(not evaluate(node.child, fields).matched)
    if isinstance(node, AllOf):
        merged: Spans = {}
        for child in node.children:
            result = evaluate(child, fields)
            if not result.matched:
                return Match(False)
            _merge(merged, result.spans)
        return Match(True, merged)
    merged = {}
    matched = False
    for child in node.children:
        result = evaluate(child, fields)
        if result.matched:
            matched = True
            _merge(merged, result.spans)
    return Match(matched, merged)


def _merge(into: Spans, spans: Spans) -> None:
    for name, hits in spans.items():
        bucket = into.setdefault(name, [])
        bucket.extend(h for h in hits if h not in bucket)


@dataclass(frozen=True)
class Anchors:
    """First keys one of which any match of a query needs: exact words, stems, prefixes."""

    words: frozenset[str] = frozenset()
    stems: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def __or__(self, other: Anchors) -> Anchors:
        return Anchors(self.words | other.words, self.stems | other.stems, self.prefixes + other.prefixes)


def anchors(node: Node) -> Anchors | None:
    """The keys one of which any match needs; None if the query can match without a term.

    A cheap pre-check: most articles contain none of a query's words, and a
    set intersection says so before any phrase is looked up.
    """
    if isinstance(node, Term):
        if node.prefix and len(node.words) == 1:
            return Anchors(prefixes=(node.words[0],))
        if node.stemmed:
            return Anchors(stems=frozenset({node.keys[0]}))
        return Anchors(words=frozenset({node.words[0]}))
    if isinstance(node, Near):
        return _union([anchors(t) for t in node.left])
    if isinstance(node, Not):
        return None
    if isinstance(node, AllOf):
        for child in node.children:  # any one required child's anchors will do
            found = anchors(child)
            if found is not None:
                return found
        return None
    return _union([anchors(c) for c in node.children])


def _union(parts: list[Anchors | None]) -> Anchors | None:
    union = Anchors()
    for part in parts:
        if part is None:
            return None
        union = union | part
    return union
