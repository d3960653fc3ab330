"""SOQL: a tokenizer and a recursive-descent parser for the subset the sandbox answers.

:func:`parse` turns a query into a :class:`Query` tree, or raises a
:class:`~okrsync_salesforce_sandbox.errors.SalesforceError` shaped like
Salesforce's (``MALFORMED_QUERY`` with the line, a caret and
``ERROR at Row:r:Column:c``). Constructs outside the subset (subqueries,
semi-joins, ``HAVING``, ``TYPEOF``, ``WITH``, ``FOR UPDATE``, functions other
than the aggregates, bind variables…) are rejected the same way, never ignored.
Names are resolved against the schema later, by the query engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from okrsync_salesforce_sandbox.dates import DATE_LITERALS, N_DATE_LITERALS, UNSUPPORTED_LITERALS
from okrsync_salesforce_sandbox.errors import SalesforceError

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "BoolOp",
    "Comparison",
    "CountAll",
    "FieldRef",
    "Membership",
    "Negation",
    "OrderItem",
    "Query",
    "Value",
    "error_at",
    "parse",
]

AGGREGATES = frozenset({"count", "count_distinct", "sum", "avg", "min", "max"})
_OUTSIDE_FUNCTIONS = frozenset(
    {
        "tolabel", "convertcurrency", "format", "grouping", "calendar_month", "calendar_quarter",
        "calendar_year", "day_in_month", "day_in_week", "day_in_year", "day_only",
        "fiscal_month", "fiscal_quarter", "fiscal_year", "hour_in_day", "week_in_month",
        "week_in_year", "converttimezone", "distance", "geolocation", "fields",
    }
)  # fmt: skip
_KEYWORDS = frozenset(
    {
        "select", "from", "where", "and", "or", "not", "in", "like", "null", "true", "false",
        "order", "by", "asc", "desc", "nulls", "first", "last", "limit", "offset", "group",
        "having", "with", "for", "update", "view", "reference", "typeof", "using", "scope",
        "includes", "excludes", "rollup", "cube", "tracking", "viewstat", "all", "rows",
    }
)  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>')
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

TokenKind = Literal["ident", "string", "number", "date", "datetime", "op", "punct", "eof"]


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, source text, decoded value and offset in the query."""

    kind: TokenKind
    text: str
    value: Any
    pos: int

    def keyword(self, *words: str) -> bool:
        """Whether the token is one of the keywords ``words`` (any letter case)."""
        return self.kind == "ident" and self.text.lower() in words

    @property
    def shown(self) -> str:
        """The token as Salesforce names it in ``unexpected token`` messages."""
        return "<EOF>" if self.kind == "eof" else self.text


# -- the tree -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field path as written (``Account.Owner.Email``)."""

    path: str
    pos: int


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``SUM(Amount) total``: function (lower case), field, alias."""

    function: str
    field: FieldRef
    alias: str | None
    pos: int


@dataclass(frozen=True, slots=True)
class CountAll:
    """Plain ``COUNT()``."""

    pos: int


@dataclass(frozen=True, slots=True)
class Value:
    """A literal of the WHERE clause.

    Kinds: ``string`` (with its raw source, for LIKE), ``number``, ``boolean``,
    ``null``, ``date``, ``datetime`` or ``range`` (a date literal: ``(name, n)``).
    """

    kind: Literal["string", "number", "boolean", "null", "date", "datetime", "range"]
    value: Any
    raw: str
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value`` with op one of ``= != < <= > >= like``."""

    field: FieldRef
    op: str
    value: Value


@dataclass(frozen=True, slots=True)
class Membership:
    """``field [NOT] IN (values)``."""

    field: FieldRef
    negated: bool
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    """Conditions joined by ``and`` or ``or``."""

    op: Literal["and", "or"]
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    """``NOT condition``."""

    item: Condition


Condition = Comparison | Membership | BoolOp | Negation


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One ``ORDER BY`` key."""

    target: FieldRef | Aggregate
    ascending: bool
    nulls_first: bool | None


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SOQL query."""

    text: str
    select: tuple[FieldRef | Aggregate | CountAll, ...]
    sobject: str
    sobject_pos: int
    where: Condition | None
    group_by: tuple[FieldRef, ...]
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


# -- errors -------------------------------------------------------------------


def error_at(text: str, pos: int, detail: str, code: str = "MALFORMED_QUERY") -> SalesforceError:
    """Salesforce's 400 for a problem at offset ``pos`` of the query ``text``."""
    pos = max(0, min(pos, len(text)))
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    column = pos - line_start + 1
    message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"
    return SalesforceError(400, code, message)


def _outside(text: str, pos: int, what: str) -> SalesforceError:
    return error_at(text, pos, f"{what} is not supported by the okrsync sandbox's SOQL subset")


# -- tokenizer ----------------------------------------------------------------


def _string(text: str, start: int) -> tuple[str, str, int]:
    """Decode the string literal opening at ``start``: (value, raw body, end offset)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            return "".join(out), text[start + 1 : i], i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 4
            else:
                raise error_at(
                    text,
                    start,
                    f"Invalid string literal '{text[start + 1 : i + 2]}'. "
                    f"Illegal character sequence '\\{nxt}' in string literal.",
                )
            i += 2
            continue
        out.append(char)
        i += 1
    row = text.count("\n") + 1
    column = len(text) - text.rfind("\n") - 1
    detail = f"line {row}:{column} mismatched character '<EOF>' expecting '''"
    raise error_at(text, len(text), detail)


def _datetime(token: str) -> datetime:
    stamp = token
    if stamp.endswith("Z"):
        stamp = stamp[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", stamp):
        stamp = stamp[:-2] + ":" + stamp[-2:]
    moment = datetime.fromisoformat(stamp)
    return moment.astimezone(UTC)


def tokenize(text: str) -> list[Token]:
    """The tokens of a query, ending with an ``eof`` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise error_at(text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup
        chunk = match.group()
        if kind == "ws":
            pos = match.end()
            continue
        if kind == "string":
            value, raw, end = _string(text, pos)
            tokens.append(Token("string", text[pos:end], (value, raw), pos))
            pos = end
            continue
        try:
            decoded: Any = chunk
            if kind == "date":
                decoded = date.fromisoformat(chunk)
            elif kind == "datetime":
                decoded = _datetime(chunk)
        except ValueError:
            raise error_at(text, pos, f"invalid date or time: {chunk}") from None
        tokens.append(Token(kind, chunk, decoded, pos))  # type: ignore[arg-type]
        pos = match.end()
    tokens.append(Token("eof", "", None, len(text)))
    return tokens


# -- parser -------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SalesforceError:
        tok = tok or self.tok
        return error_at(self.text, tok.pos, f"unexpected token: '{tok.shown}'")

    def expect_keyword(self, word: str) -> Token:
        if not self.tok.keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.text == char):
            raise self.unexpected()
        return self.advance()

    def at_punct(self, char: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == char

    # query := SELECT items FROM object [WHERE] [GROUP BY] [ORDER BY] [LIMIT] [OFFSET]
    def query(self) -> Query:
        self.expect_keyword("select")
        items = [self.select_item()]
        while self.at_punct(","):
            self.advance()
            items.append(self.select_item())
        self.expect_keyword("from")
        obj = self.tok
        # `Group` is an object as well as a keyword: `FROM Group WHERE …`, not `GROUP BY`
        named_group = obj.keyword("group") and not self.peek().keyword("by")
        if obj.kind != "ident" or "." in obj.text or (obj.keyword(*_KEYWORDS) and not named_group):
            raise self.unexpected()
        self.advance()
        if self.tok.kind == "ident" and not self.tok.keyword(*_KEYWORDS):
            raise _outside(self.text, self.tok.pos, "An object alias")
        self.reject_clauses("using", "with")
        where = None
        if self.tok.keyword("where"):
            self.advance()
            where = self.condition()
        self.reject_clauses("with")
        group_by = self.group_by()
        if self.tok.keyword("having"):
            raise _outside(self.text, self.tok.pos, "HAVING")
        order_by = self.order_by()
        limit = self.integer_clause("limit")
        offset = self.integer_clause("offset")
        self.reject_clauses("for", "update", "with", "all")
        if self.tok.kind != "eof":
            raise self.unexpected()
        return Query(
            self.text,
            tuple(items),
            obj.text,
            obj.pos,
            where,
            tuple(group_by),
            tuple(order_by),
            limit,
            offset,
        )

    def group_by(self) -> list[FieldRef]:
        if not self.tok.keyword("group"):
            return []
        self.advance()
        self.expect_keyword("by")
        if self.tok.keyword("rollup", "cube"):
            raise _outside(self.text, self.tok.pos, f"GROUP BY {self.tok.text.upper()}")
        fields = [self.field_ref()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field_ref())
        return fields

    def order_by(self) -> list[OrderItem]:
        if not self.tok.keyword("order"):
            return []
        self.advance()
        self.expect_keyword("by")
        keys = [self.order_item()]
        while self.at_punct(","):
            self.advance()
            keys.append(self.order_item())
        return keys

    def reject_clauses(self, *words: str) -> None:
        if self.tok.keyword(*words):
            word = self.tok.text.upper()
            nxt = self.peek()
            if nxt.kind == "ident":
                word = f"{word} {nxt.text.upper()}"
            raise _outside(self.text, self.tok.pos, word)

    def integer_clause(self, word: str) -> int | None:
        if not self.tok.keyword(word):
            return None
        self.advance()
        tok = self.tok
        if tok.kind == "punct" and tok.text == ":":
            raise _outside(self.text, tok.pos, "A bind variable")
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self.unexpected()
        self.advance()
        return int(tok.text)

    def select_item(self) -> FieldRef | Aggregate | CountAll:
        tok = self.tok
        if self.at_punct("("):
            raise _outside(self.text, tok.pos, "A relationship subquery")
        if tok.keyword("typeof"):
            raise _outside(self.text, tok.pos, "TYPEOF")
        if tok.kind != "ident" or tok.keyword(*_KEYWORDS):
            raise self.unexpected()
        if self.peek().kind == "punct" and self.peek().text == "(":
            return self.function()
        self.advance()
        ref = FieldRef(tok.text, tok.pos)
        if self.tok.kind == "ident" and not self.tok.keyword(*_KEYWORDS):
            raise self.unexpected()
        return ref

    def function(self) -> Aggregate | CountAll:
        name_tok = self.advance()
        name = name_tok.text.lower()
        if name not in AGGREGATES:
            if name in _OUTSIDE_FUNCTIONS:
                raise _outside(self.text, name_tok.pos, f"The function {name_tok.text}()")
            raise error_at(self.text, name_tok.pos, f"Unknown function: {name_tok.text}")
        self.expect_punct("(")
        if self.at_punct(")"):
            close = self.advance()
            if name != "count":
                raise self.unexpected(close)
            return CountAll(name_tok.pos)
        field = self.field_ref()
        self.expect_punct(")")
        alias = None
        if self.tok.kind == "ident" and not self.tok.keyword(*_KEYWORDS):
            alias_tok = self.advance()
            if "." in alias_tok.text:
                raise self.unexpected(alias_tok)
            alias = alias_tok.text
        return Aggregate(name, field, alias, name_tok.pos)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.keyword(*_KEYWORDS):
            raise self.unexpected()
        if self.peek().kind == "punct" and self.peek().text == "(":
            raise _outside(self.text, tok.pos, f"The function {tok.text}()")
        self.advance()
        return FieldRef(tok.text, tok.pos)

    def order_item(self) -> OrderItem:
        tok = self.tok
        target: FieldRef | Aggregate
        if tok.kind == "ident" and self.peek().kind == "punct" and self.peek().text == "(":
            func = self.function()
            if isinstance(func, CountAll):
                raise _outside(self.text, tok.pos, "ORDER BY COUNT()")
            if func.alias is not None:
                raise self.unexpected(self.tokens[self.i - 1])
            target = func
        else:
            target = self.field_ref()
        ascending = True
        if self.tok.keyword("asc", "desc"):
            ascending = self.advance().text.lower() == "asc"
        nulls_first = None
        if self.tok.keyword("nulls"):
            self.advance()
            if not self.tok.keyword("first", "last"):
                raise self.unexpected()
            nulls_first = self.advance().text.lower() == "first"
        return OrderItem(target, ascending, nulls_first)

    # condition := unary ((AND unary)* | (OR unary)*); mixing needs parentheses
    def condition(self) -> Condition:
        first = self.unary()
        if not self.tok.keyword("and", "or"):
            return first
        op: Literal["and", "or"] = "and" if self.tok.text.lower() == "and" else "or"
        items = [first]
        while self.tok.keyword(op):
            self.advance()
            items.append(self.unary())
        if self.tok.keyword("and", "or"):
            raise self.unexpected()
        return BoolOp(op, tuple(items))

    def unary(self) -> Condition:
        if self.tok.keyword("not"):
            self.advance()
            return Negation(self.unary())
        if self.at_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        field = self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = {"<>": "!="}.get(tok.text, tok.text)
            return Comparison(field, op, self.value())
        if tok.keyword("like"):
            self.advance()
            return Comparison(field, "like", self.value())
        if tok.keyword("includes", "excludes"):
            raise _outside(self.text, tok.pos, tok.text.upper())
        negated = False
        if tok.keyword("not"):
            self.advance()
            negated = True
            if not self.tok.keyword("in"):
                raise self.unexpected()
        if self.tok.keyword("in"):
            self.advance()
            open_tok = self.expect_punct("(")
            if self.tok.keyword("select"):
                kind = "An anti-join (NOT IN subquery)" if negated else "A semi-join (IN subquery)"
                raise _outside(self.text, open_tok.pos, kind)
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return Membership(field, negated, tuple(values))
        raise self.unexpected()

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            decoded, raw = tok.value
            return Value("string", decoded, raw, tok.pos)
        if tok.kind == "number":
            self.advance()
            return Value("number", tok.text, tok.text, tok.pos)
        if tok.kind == "date":
            self.advance()
            return Value("date", tok.value, tok.text, tok.pos)
        if tok.kind == "datetime":
            self.advance()
            return Value("datetime", tok.value, tok.text, tok.pos)
        if tok.kind == "punct" and tok.text == ":":
            raise _outside(self.text, tok.pos, "A bind variable")
        if tok.kind == "ident":
            return self.word_value(tok)
        raise self.unexpected()

    def word_value(self, tok: Token) -> Value:
        """``null``, ``true``/``false`` or a date literal such as ``LAST_N_DAYS:30``."""
        word = tok.text.lower()
        if word == "null":
            self.advance()
            return Value("null", None, tok.text, tok.pos)
        if word in {"true", "false"}:
            self.advance()
            return Value("boolean", word == "true", tok.text, tok.pos)
        upper = tok.text.upper()
        if upper in DATE_LITERALS:
            self.advance()
            return Value("range", (upper, None), tok.text, tok.pos)
        if upper in N_DATE_LITERALS:
            self.advance()
            self.expect_punct(":")
            num = self.tok
            if num.kind != "number" or not re.fullmatch(r"\d+", num.text):
                raise self.unexpected()
            self.advance()
            return Value("range", (upper, int(num.text)), f"{tok.text}:{num.text}", tok.pos)
        if upper in UNSUPPORTED_LITERALS:
            raise _outside(self.text, tok.pos, f"The date literal {upper}")
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse a SOQL query of the sandbox's subset (``SalesforceError`` when it is not)."""
    if not text.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query must be given")
    return _Parser(text).query()
