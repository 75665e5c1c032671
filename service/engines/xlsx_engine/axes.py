"""Where each template row (or column) of one rendered sheet ends up, loops expanded."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.engines.xlsx_engine.formulas import Ref, ref_body


@dataclass(frozen=True)
class _Segment:
    """Template indices that do not map one to one: a removed marker or a loop body."""

    start: int
    end: int
    loop: int | None  # loop id; None for a removed index
    base: int  # output index of the first copy, or of whatever follows a removed index
    count: int
    delta_after: int


Ctx = Mapping[int, int]  # loop id -> copy number, for the loops a reference is made from


class AxisMap:
    """Where each template row (or column) of one rendered sheet ends up."""

    def __init__(
        self,
        *,
        removed: Sequence[int],
        bodies: Sequence[tuple[int, int, int]],  # (loop id, first, last)
        counts: Mapping[int, int],
        limit: int,
    ) -> None:
        spans = sorted(
            [(i, i, None) for i in removed] + [(first, last, lid) for lid, first, last in bodies],
            key=lambda span: span[0],
        )
        delta = 0
        segments: list[_Segment] = []
        for start, end, lid in spans:
            base = start + delta
            count = 0 if lid is None else counts[lid]
            delta += -1 if lid is None else (count - 1) * (end - start + 1)
            segments.append(_Segment(start, end, lid, base, count, delta))
        self._segments = segments
        self._starts = [s.start for s in segments]
        self._by_loop = {s.loop: s for s in segments if s.loop is not None}
        self._limit = limit

    def _find(self, index: int) -> tuple[_Segment | None, int]:
        position = bisect_right(self._starts, index) - 1
        if position < 0:
            return None, 0
        segment = self._segments[position]
        if index <= segment.end:
            return segment, 0
        return None, segment.delta_after

    def _ok(self, index: int) -> int | None:
        return index if 1 <= index <= self._limit else None

    def copy(self, loop: int, index: int, number: int) -> int:
        """Output index of template ``index`` (in the body of ``loop``) in copy ``number``."""
        s = self._by_loop[loop]
        return s.base + number * (s.end - s.start + 1) + index - s.start

    def single(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return None
        number = min(ctx.get(segment.loop, 0), segment.count - 1)
        return self._ok(self.copy(segment.loop, index, number))

    def start(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return self._ok(segment.base)
        return self._ok(self.copy(segment.loop, index, ctx.get(segment.loop, 0)))

    def end(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return self._ok(segment.base - 1) if segment.base > 1 else None
        number = ctx.get(segment.loop, segment.count - 1)
        return self._ok(self.copy(segment.loop, index, number))

    def loop_around(self, first: int, last: int) -> int | None:
        """The loop whose body holds all of ``first..last``, if any."""
        segment, _ = self._find(first)
        if segment is not None and segment.loop is not None and last <= segment.end:
            return segment.loop
        return None

    def count(self, loop: int) -> int:
        return self._by_loop[loop].count


def map_area(
    ref: Ref, rows: AxisMap, cols: AxisMap, rctx: Ctx, cctx: Ctx
) -> tuple[int, int, int, int] | None:
    """(c1, r1, c2, r2) of a reference after rendering; None when it no longer exists."""
    if ref.kind == "cell":
        r = rows.single(ref.r1, rctx)
        c = cols.single(ref.c1, cctx)
        return None if r is None or c is None else (c, r, c, r)
    c1, c2 = ref.c1, ref.c2
    r1, r2 = ref.r1, ref.r2
    if ref.kind != "rows":
        c1_, c2_ = cols.start(ref.c1, cctx), cols.end(ref.c2, cctx)
        if c1_ is None or c2_ is None or c1_ > c2_:
            return None
        c1, c2 = c1_, c2_
    if ref.kind != "cols":
        r1_, r2_ = rows.start(ref.r1, rctx), rows.end(ref.r2, rctx)
        if r1_ is None or r2_ is None or r1_ > r2_:
            return None
        r1, r2 = r1_, r2_
    return c1, r1, c2, r2


def map_ref_text(ref: Ref, rows: AxisMap, cols: AxisMap, rctx: Ctx, cctx: Ctx) -> str | None:
    area = map_area(ref, rows, cols, rctx, cctx)
    if area is None:
        return None
    return ref_body(ref.kind, *area, ref.fixed)
