"""PURE onset detection: where a sound starts, to the sample, in a stretch of audio.

Coarse: spectral flux (the summed rise of log magnitudes, all channels together) on frames a
hop of 5 ms apart, on a grid of absolute sample positions (so a search over a window gives
the same onsets as a search over the whole), picked where it peaks well above its local
median and the frame is not near silence. Fine: the onset is the first sample after the last
quiet stretch before the attack's peak whose level passes 1/16 (-24 dB) of that peak and
three times the level just before. That is where a listener (and a meter: "the first sample
above -30 dB" of a -6 dB beep) hears the sound begin.

Nothing here knows about ffmpeg or the plan; :mod:`ds_slowmo.stretch` pins what it finds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OnsetGrid", "find_onsets"]

_MIN_LEVEL = 10 ** (-50 / 20)  # frames quieter than -50 dBFS have no onsets
_RISE = 1 / 16  # the attack's level where the onset is placed, relative to its peak (-24 dB)
_MIN_FLUX = 4.0  # summed log-magnitude rise (natural log units x bins) a real onset has at least


@dataclass(frozen=True)
class OnsetGrid:
    """The detector's sizes for one sample rate, in samples."""

    hop: int  # 5 ms
    n_fft: int  # about 21 ms
    median: int  # half-width of the local median, in hops (about 100 ms)
    gap: int  # two onsets are at least this far apart (about 50 ms)
    attack: int  # the peak of an attack lies within this after its coarse frame (30 ms)

    @classmethod
    def of(cls, sample_rate: int) -> "OnsetGrid":
        hop = max(8, round(sample_rate * 0.005))
        n_fft = 1 << max(6, round(np.log2(sample_rate * 0.0213)))
        return cls(hop=hop, n_fft=n_fft, median=max(4, round(0.1 * sample_rate / hop)),
                   gap=round(0.05 * sample_rate), attack=round(0.03 * sample_rate))  # fmt: skip

    @property
    def context(self) -> int:
        """Samples a search needs on each side of its span."""
        return (self.median + 2) * self.hop + self.n_fft + self.attack


def _flux(x: np.ndarray, first: int, count: int, grid: OnsetGrid) -> tuple[np.ndarray, np.ndarray]:
    """Spectral flux and peak level of ``count`` frames whose windows start at ``first``,
    ``first + hop``, ...; frame ``j``'s flux compares it with frame ``j - 1``."""
    idx = first - grid.hop + grid.hop * np.arange(count + 1)[:, None] + np.arange(grid.n_fft)
    frames = x[:, idx]  # (C, count + 1, n_fft)
    window = np.hanning(grid.n_fft + 2)[1:-1]
    mag = np.log1p(100.0 * np.abs(np.fft.rfft(frames * window, axis=-1)))
    rise = np.maximum(mag[:, 1:] - mag[:, :-1], 0.0).sum(axis=(0, 2))
    level = np.abs(frames[:, 1:]).max(axis=(0, 2))
    return rise, level


def _refine(x: np.ndarray, coarse: int, grid: OnsetGrid, lo: int) -> int:
    """The first sample of the attack near frame start ``coarse`` (see the module's note);
    never before ``lo``."""
    mono = np.abs(x).max(axis=0)
    peak_at = coarse + int(np.argmax(mono[coarse : coarse + grid.n_fft + grid.attack]))
    peak = float(mono[peak_at])
    before = mono[max(lo, coarse - 3 * grid.hop) : max(lo, coarse - grid.hop)]
    floor = 1.5 * float(before.max()) if before.size else 0.0
    level = max(peak * _RISE, floor)
    # trailing max over 2 ms: below the level there means a quiet stretch, not a zero crossing
    # nor the trough of two tones beating
    w = max(1, (2 * grid.hop) // 5)
    start = max(lo, coarse - grid.n_fft)
    if peak_at < start:
        return start
    seg = np.pad(mono[start : peak_at + 1], (w - 1, 0))
    quiet = np.flatnonzero(np.lib.stride_tricks.sliding_window_view(seg, w).max(axis=1) < level)
    return start + (int(quiet[-1]) + 1 if quiet.size else 0)


def _rises(x: np.ndarray, onset: int, n: int) -> bool:
    """Is there more sound in the ``n`` samples from ``onset`` than in the ``n`` before (by
    3 dB)? A sound that stops also splashes flux, but it is no onset."""
    after = float(np.square(x[:, onset : onset + n]).sum())
    before = float(np.square(x[:, max(0, onset - n) : onset]).sum())
    return after > 2.0 * before


def find_onsets(x: np.ndarray, sample_rate: int, start: int, stop: int) -> list[int]:
    """Onsets of ``x`` (channels, samples) whose coarse frame starts in ``[start, stop)``, as
    sample indices of ``x``, ascending, at least ``OnsetGrid.gap`` apart. The frames lie on
    multiples of the hop; ``x`` should hold ``OnsetGrid.context`` samples on each side of the
    span (what it lacks counts as silence)."""
    grid = OnsetGrid.of(sample_rate)
    first = -(-start // grid.hop) * grid.hop
    count = (stop - first + grid.hop - 1) // grid.hop if stop > first else 0
    if count <= 0:
        return []
    pad = grid.context + max(0, -first)
    after = grid.context + grid.n_fft + max(0, stop - x.shape[1])
    padded = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (pad, after)))
    m = grid.median
    rise, level = _flux(padded, first + pad - m * grid.hop, count + 2 * m, grid)
    local = np.median(np.lib.stride_tricks.sliding_window_view(rise, 2 * m + 1), axis=1)  # frame j+m's
    found: list[int] = []
    for j in range(count):
        r = rise[j + m]
        if r < _MIN_FLUX or level[j + m] < _MIN_LEVEL or r < 3.0 * local[j] + 1.0:
            continue
        if not (r >= rise[j + m - 1] and r > rise[j + m + 1]):
            continue  # not the peak of its rise
        coarse = first + j * grid.hop
        onset = _refine(padded, coarse + pad, grid, found[-1] + pad + grid.gap if found else 0) - pad
        if (found and onset - found[-1] < grid.gap) or not _rises(padded, onset + pad, grid.n_fft):
            continue
        found.append(onset)
    return found
