"""The bounds a plan must keep, checked before any frame moves: how many output frames one
source frame may make, and the memory the frames of one gap need at once.

The stage makes the in-betweens of a gap in one model call and holds them all until they are
written, so a plan that asks for millions of frames per gap (``--fps 1e9`` on a 25 fps clip)
would grow without end instead of failing. The plan knows its frames per gap before anything
is decoded, so such requests are refused up front, with the option that caused them.
"""

from __future__ import annotations

import os
from typing import Optional

from .errors import UsageError
from .plan import Plan

__all__ = ["MAX_PER_FRAME", "plan_bytes", "physical_memory", "check_per_frame", "check_plan"]

#: most output frames one source frame may make: its copy and the in-betweens of its gap
#: (``--factor`` 64 at the input's rate, or ``--fps`` 1024 times the input's)
MAX_PER_FRAME = 1024

#: bytes a pixel may take in flight: float RGB going into and out of the model (12), and the
#: native frame coming back (at most 8: 16-bit 4:4:4 with alpha)
_FLOAT_RGB, _NATIVE = 12, 8


def plan_bytes(plan: Plan, width: int, height: int, batch_size: int) -> int:
    """The memory the frames of one model call take at once: ``batch_size`` pairs, each two
    source frames in and the in-betweens of one gap out, as float RGB and as native frames."""
    per = plan.per_frame()
    pixels = width * height
    return batch_size * pixels * ((2 + per) * _FLOAT_RGB + per * _NATIVE)


def physical_memory() -> Optional[int]:
    """This machine's memory in bytes (``None``: the system won't say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def check_per_frame(plan: Plan) -> None:
    """Refuse a plan that makes more than :data:`MAX_PER_FRAME` output frames from one source
    frame (before anything asks the plan for its times: that alone would not end)."""
    per = plan.per_frame()
    if per > MAX_PER_FRAME:
        ratio = plan.out_rate / plan.in_rate
        slowed = f", slowed {plan.factor}x," if plan.slowed else ""
        raise UsageError(
            f"{plan.out_rate} fps output from a {plan.in_rate} fps input{slowed} makes "
            f"{per} output frames from each input frame ({float(ratio):.6g}x the rate); at most {MAX_PER_FRAME} "
            "are allowed: lower --fps or --factor"
        )


def check_plan(plan: Plan, width: int, height: int, batch_size: int, *, memory: Optional[int] = None) -> None:
    """:func:`check_per_frame`, and refuse a plan whose frames of one model call need more
    memory than the machine has (``memory``: that amount instead of this machine's)."""
    check_per_frame(plan)
    have = physical_memory() if memory is None else memory
    need = plan_bytes(plan, width, height, batch_size)
    if have is not None and need > have:
        raise UsageError(
            f"{plan.per_frame()} output frames of {width}x{height} per model call (x{batch_size} with --batch-size) need "
            f"about {_gib(need)} at once, more than this machine's {_gib(have)}: lower --batch-size, --factor or --fps"
        )
