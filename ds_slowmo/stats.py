"""What a run did, and where its time went: :class:`RunStats`, shared by a single run, a
chunked one (the parent adds up its workers'), the worker protocol and the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

from .job import Job
from .plan import Plan, format_rate
from .stage import StageStats

__all__ = ["RunStats"]


@dataclass
class RunStats(StageStats):
    """What a run did, and where its time went (seconds). The model stage's own counts and
    times come from :class:`~ds_slowmo.stage.StageStats`."""

    input: str = ""
    output: str = ""
    model: str = ""
    width: int = 0
    height: int = 0
    in_rate: Fraction = Fraction(0)
    out_rate: Fraction = Fraction(0)
    frames_out: int = 0
    wall_s: float = 0.0
    input_wait_s: float = 0.0  # model stage waiting for decoded frames
    output_wait_s: float = 0.0  # model stage blocked because the encoder is behind
    decode_s: float = 0.0  # reader thread: waiting on the decoder's pipe
    encode_s: float = 0.0  # writer thread: waiting on the encoder's pipe
    setup_s: float = 0.0  # probe + model load + process start
    inspect_path: Optional[str] = None
    plan: Optional[Plan] = field(default=None, repr=False)

    @classmethod
    def of(cls, job: Job, model_name: str) -> "RunStats":
        """The figures a run of ``job`` knows before it starts."""
        return cls(input=job.cfg.input, output=job.cfg.output, model=model_name, width=job.info.width,
                   height=job.info.height, in_rate=job.plan.in_rate, out_rate=job.plan.out_rate, plan=job.plan)  # fmt: skip

    @property
    def model_busy(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    @property
    def fps_out(self) -> float:
        return self.frames_out / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input, "output": self.output, "model": self.model,
            "size": f"{self.width}x{self.height}", "in_rate": format_rate(self.in_rate),
            "out_rate": format_rate(self.out_rate), "frames_in": self.frames_in,
            "frames_out": self.frames_out, "interpolated": self.interpolated,
            "wall_s": round(self.wall_s, 4), "fps_out": round(self.fps_out, 3),
            "model_s": round(self.model_s, 4), "model_busy": round(self.model_busy, 4),
            "input_wait_s": round(self.input_wait_s, 4), "output_wait_s": round(self.output_wait_s, 4),
            "decode_s": round(self.decode_s, 4), "encode_s": round(self.encode_s, 4),
            "setup_s": round(self.setup_s, 4), "cuts": [list(c) for c in self.cuts],
            "cut_frames": self.cut_frames, "duplicates": self.duplicates,
        }  # fmt: skip
