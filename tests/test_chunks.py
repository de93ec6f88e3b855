"""Chunk plans for any plan: the chunks' steps, joined, are the single run's steps."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import cut_spans, trims

from ds_slowmo.chunks import chunk_plan
from ds_slowmo.plan import Copy, Interp, build_plan, parse_span


def chunk_steps(plan, chunk, n):
    """What a chunk emits: the output frames whose positions lie in ``[start, stop)``."""
    last = plan.kept(n)[-1]
    out = []
    for i in range(chunk.start, chunk.stop):
        at_end = chunk.last and i == last
        out += [Copy(i) if u == 0 or at_end else Interp(i, u) for u in plan.frames_at(i, at_end)]
    return out


@st.composite
def cases(draw):
    n = draw(st.integers(2, 300))
    mode = draw(st.sampled_from(["slowmo", "fps"]))
    span = draw(trims(n, n - 2))
    trim = parse_span(f"{span[0]}:{span[1]}", "--trim") if span else None
    ranges = [parse_span(f"{a}:{b}") for a, b in draw(cut_spans(n))] if mode == "slowmo" else []
    target = draw(st.one_of(st.none(), st.sampled_from([Fraction(60), Fraction(60000, 1001), Fraction(50), Fraction(12)])))
    plan = build_plan(mode=mode, factor=draw(st.integers(2, 7)), n_frames=n, ranges=ranges, trim=trim, target=target,
                      rate=draw(st.sampled_from([Fraction(25), Fraction(24000, 1001), Fraction(30)])))  # fmt: skip
    keys = sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=20))))
    return n, plan, keys, draw(st.integers(1, 60))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_chunk_steps_join_into_the_whole_steps(case):
    n, plan, keys, target = case
    chunks = chunk_plan(plan, n, keys, target)
    steps = list(plan.steps(n))
    joined = []
    for c in chunks:
        mine = chunk_steps(plan, c, n)
        assert c.out_first == len(joined) and c.out_count == len(mine)
        joined += mine
    assert joined == steps
    assert chunks[0].start == plan.kept(n).start and chunks[-1].stop == plan.kept(n).stop and chunks[-1].last
    assert all(a.stop == b.start and not a.last for a, b in zip(chunks, chunks[1:]))


@given(n=st.integers(1, 60), trim=st.one_of(st.none(), st.tuples(st.integers(0, 59), st.integers(1, 60))),
       seekable=st.booleans(), target=st.integers(1, 20))  # fmt: skip
def test_decode_windows_cover_exactly_what_the_plan_keeps(n, trim, seekable, target):
    """A run's window starts at the trim (a pipe at frame 0) and stops at the trim's end; a
    chunk's window is its frames plus one of overlap; the chunks' windows, from their starts,
    tile the kept frames."""
    from ds_slowmo.chunks import frames_to_decode
    from ds_slowmo.plan import Span, Position

    if trim is not None and not trim[0] < trim[1] <= n:
        trim = None
    span = Span(Position(frame=trim[0]), Position(frame=trim[1])) if trim else None
    plan = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=n, trim=span)
    kept = plan.kept(n)
    w = frames_to_decode(plan, seekable=seekable)
    first = kept.start if seekable else 0
    assert w.first == first and not w.exact
    assert w.count is None if plan.trim_stop is None else w.first + w.count == plan.trim_stop
    covered = []
    for c in chunk_plan(plan, n, [], target):
        cw = frames_to_decode(plan, seekable=True, chunk=c)
        assert cw.exact and cw.first == c.start and cw.count == c.stop - c.start + (0 if c.last else 1)
        covered += range(cw.first, cw.first + cw.count - (0 if c.last else 1))
    assert covered == list(kept)
