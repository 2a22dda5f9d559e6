"""Compact columns for big files: text as one NUL-joined string per chunk (PackedText), amounts
as integer cents (PackedAmounts).

A 200,000-row invoice file has ten text columns (names, addresses, e-mail, phone...) that the
checks read once and the screens show a screenful at a time. Kept as two million separate
``str`` objects they cost more memory than the file's own text several times over, and
allocating them is a large part of reading the file. ``PackedText`` keeps each chunk of
cells as one joined string and splits a chunk again only when a cell of it is asked for
(the last chunk split is remembered, so a table scrolling through rows splits each chunk
once). Iterating is C-speed. A chunk whose cells contain NUL is kept as a plain list.

It is a read-only ``Sequence`` of ``str`` (plus ``pop`` for a preview that drops a cut last
row) and compares equal to a list of the same strings.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import chain

SEP = "\x00"


def _cells(chunk: str | list) -> list[str]:
    return chunk.split(SEP) if type(chunk) is str else chunk


class PackedText(Sequence):
    """Text cells stored as joined chunks (see the module docstring)."""

    __slots__ = ("_chunks", "_starts", "_n", "_cache_k", "_cache")

    def __init__(self, values: Iterable[str] = ()):
        self._chunks: list[str | list[str]] = []
        self._starts: list[int] = []  # index of each chunk's first cell
        self._n = 0
        self._cache_k = -1
        self._cache: list[str] = []
        values = list(values)
        if values:
            self.add_chunk(values)

    def add_chunk(self, values: Sequence[str], joined: str | None = None) -> None:
        """Append the cells of one chunk (str only). ``joined``: ``SEP.join(values)`` already
        made, and known to hold exactly ``len(values) - 1`` separators."""
        n = len(values)
        if not n:
            return
        if joined is None:
            joined = SEP.join(values)
            if joined.count(SEP) != n - 1:  # a cell holds the separator: keep the cells
                joined = None
        self._chunks.append(joined if joined is not None else list(values))
        self._starts.append(self._n)
        self._n += n

    def __len__(self) -> int:
        return self._n

    def _chunk(self, k: int) -> list[str]:
        if k != self._cache_k:
            self._cache = _cells(self._chunks[k])
            self._cache_k = k
        return self._cache

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self._n)
            if step == 1 and stop - start > 64:
                return list(self)[start:stop]
            return [self[j] for j in range(start, stop, step)]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("PackedText index out of range")
        k = bisect_right(self._starts, i) - 1
        return self._chunk(k)[i - self._starts[k]]

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(map(_cells, self._chunks))

    def __contains__(self, value) -> bool:
        return any(value in _cells(c) for c in self._chunks)

    def count(self, value) -> int:
        return sum(_cells(c).count(value) for c in self._chunks)

    def pop(self) -> str:
        """Remove and return the last cell."""
        if not self._n:
            raise IndexError("pop from an empty PackedText")
        k = len(self._chunks) - 1
        cells = list(self._chunk(k))
        value = cells.pop()
        if cells:
            self._chunks[k] = cells
        else:
            del self._chunks[k]
            del self._starts[k]
        self._n -= 1
        self._cache_k = -1
        return value

    def tolist(self) -> list[str]:
        return list(self)

    def __eq__(self, other) -> bool:
        if isinstance(other, PackedText | list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable (pop), like a list

    def __repr__(self) -> str:
        head = self[:5]
        more = f", ... ({self._n:,} cells)" if self._n > 5 else ""
        return f"PackedText({head!r}{more})"


def _decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


class PackedAmounts(Sequence):
    """An amount column kept as integer cents (None for an absent or unreadable cell): exact,
    a fraction of the memory of Decimal objects, and what the rules add up and compare. A
    ``Decimal`` with two places is made when a value is asked for (a screenful at a time).
    ``cents`` is the list itself, for whole-column passes."""

    __slots__ = ("cents",)

    def __init__(self, cents: list[int | None] | None = None):
        self.cents: list[int | None] = cents if cents is not None else []

    def __len__(self) -> int:
        return len(self.cents)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(map(_decimal, self.cents[i]))
        return _decimal(self.cents[i])

    def __iter__(self) -> Iterator[Decimal | None]:
        return map(_decimal, self.cents)

    def __contains__(self, value) -> bool:
        if value is None:
            return None in self.cents
        return any(v == value for v in self)

    def pop(self) -> Decimal | None:
        return _decimal(self.cents.pop())

    def tolist(self) -> list[Decimal | None]:
        return list(self)

    def __eq__(self, other) -> bool:
        if isinstance(other, PackedAmounts):
            return self.cents == other.cents
        if isinstance(other, list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        more = f", ... ({len(self.cents):,} amounts)" if len(self.cents) > 5 else ""
        return f"PackedAmounts({self[:5]!r}{more})"
