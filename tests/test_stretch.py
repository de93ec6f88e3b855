"""The stretcher of slowed audio (ds_slowmo.stretch) and its onset detector (ds_slowmo.onsets),
on synthetic signals: onsets found to the sample and pinned to their planned output sample,
pitch and level kept, no clicks where a copied region joins a stretched gap, a sweep that stays
one rising line, exact lengths, streaming that gives what a whole array gives, bounded input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.onsets import find_onsets
from ds_slowmo.stretch import stretch, stretch_stream

SR = 48000
LOUD = 10 ** (-30 / 20)  # a beep starts at its first sample above -30 dBFS


def t_of(seconds: float, sr: int = SR) -> np.ndarray:
    return np.arange(int(sr * seconds)) / sr


def beeps(at, seconds=1.6, sr=SR, dur=0.08, bed=0.0, freq=1000.0, release=0.0) -> np.ndarray:
    """0.5-amplitude beeps that start at once at each time in ``at`` (and end at once, or
    fade out over ``release`` s), over a 440 Hz tone of amplitude ``bed``."""
    t = t_of(seconds, sr)
    env = np.zeros_like(t)
    for a in at:
        inside = (t >= a) & (t < a + dur)
        env += inside * (np.clip((a + dur - t) / release, 0.0, 1.0) if release else 1.0)
    return env * 0.5 * np.sin(2 * np.pi * freq * t) + bed * np.sin(2 * np.pi * 440 * t)


def starts(y: np.ndarray, sr: int = SR) -> list[int]:
    loud = np.flatnonzero(np.abs(np.atleast_2d(y)).max(axis=0) > LOUD)
    return [int(i) for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > sr * 0.05]


def first_sample(a: float, sr: int = SR) -> int:
    """The first sample of a beep starting at ``a`` s that passes -30 dB."""
    i = int(np.ceil(a * sr))
    while abs(0.5 * np.sin(2 * np.pi * 1000 * i / sr)) <= LOUD:
        i += 1
    return i


# -- onsets ---------------------------------------------------------------------------------------
def test_onsets_of_beeps_to_the_sample_and_none_in_steady_sound():
    at = (0.3, 0.71, 1.2234)
    x = beeps(at)[None]
    assert find_onsets(x, SR, 0, x.shape[1]) == [first_sample(a) for a in at]
    t = t_of(1.5)
    steady = {
        "tone": np.sin(2 * np.pi * 1000 * t),
        "sweep": np.sin(2 * np.pi * np.cumsum(200 * 20 ** (t / 1.5)) / SR),
        "tremolo": (1 + 0.5 * np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * 500 * t),
        "noise": np.random.default_rng(1).standard_normal(t.size),
    }
    for name, sig in steady.items():
        assert find_onsets(0.3 * sig[None], SR, 0, t.size) == [], name


def test_onsets_over_a_bed_and_in_any_window():
    rng = np.random.default_rng(0)
    t = t_of(2.0)
    hits = (0.3, 0.8, 1.3, 1.55)
    sig = 0.2 * np.sin(2 * np.pi * 220 * t)
    for h in hits:
        i, k = int(h * SR), int(0.2 * SR)
        sig[i : i + k] += 0.5 * rng.standard_normal(k) * np.exp(-np.arange(k) / SR / 0.03)
    x = np.stack([sig, 0.8 * sig])
    found = find_onsets(x, SR, 0, t.size)
    assert len(found) == len(hits) and all(0 <= o - int(h * SR) < 48 for o, h in zip(found, hits))  # within 1 ms
    hop = 240  # searched window by window (on the grid), the same onsets
    cut = 40 * hop
    assert find_onsets(x, SR, 0, cut) + find_onsets(x, SR, cut, t.size) == found


# -- onsets pinned --------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("sr", [48000, 44100])
def test_every_onset_lands_on_its_planned_sample(factor, sr):
    at = (0.2, 0.61, 1.0234)
    x = beeps(at, seconds=1.3, sr=sr)[None]
    y = stretch(x, x.shape[1] * factor, sr)
    assert y.shape == (1, x.shape[1] * factor) and y.dtype == np.float32
    got = starts(y, sr)
    want = [first_sample(a, sr) * factor for a in at]
    assert len(got) == 3 and max(abs(g - w) for g, w in zip(got, want)) <= sr // 2000, (got, want)  # 0.5 ms


def test_the_line_decides_where_an_onset_goes():
    x = beeps((0.3,), seconds=0.8)[None]
    o = first_sample(0.3)
    shift = 4800  # a line that runs 0.1 s late (the plan's, say) is followed
    y = stretch(x, x.shape[1] * 4, SR, line=lambda i: min(4 * i + shift, 4 * x.shape[1]))
    assert abs(starts(y)[0] - (4 * o + shift)) <= 2


def test_without_pinning_onsets_come_early():
    x = beeps((0.3, 0.9))[None]
    y = stretch(x, x.shape[1] * 8, SR, pin=False)
    assert starts(y)[1] < first_sample(0.9) * 8 - SR * 0.02  # smeared ahead of the plan: why pinning exists


# -- sound ----------------------------------------------------------------------------------------
def middle(y: np.ndarray) -> np.ndarray:
    n = y.shape[-1]
    return y[..., n // 4 : 3 * n // 4]


def frequency(y: np.ndarray, sr: int = SR) -> float:
    crossings = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    return (len(crossings) - 1) * sr / (crossings[-1] - crossings[0])


def rms_db(y: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(y)))))


@pytest.mark.parametrize("factor, sr", [(2, 48000), (4, 44100), (16, 44100), (8, 22050)])
def test_a_tone_keeps_its_pitch_and_level(factor, sr):
    x = (0.5 * np.sin(2 * np.pi * 1000 * t_of(1.0, sr)))[None]
    y = stretch(x, x.shape[1] * factor, sr)[0]
    assert abs(frequency(middle(y), sr) / 1000 - 1) < 0.01
    assert abs(rms_db(middle(y)) - rms_db(x)) < 1.0


@pytest.mark.parametrize("factor", [2, 4, 16])
def test_no_clicks_where_regions_join_the_stretch(factor):
    """A tone carrying beeps: each beep is an onset region copied between stretched gaps, so
    the joins lie inside sound. No step between samples may exceed the signal's own largest.
    (The beeps fade out: a vocoder rings a little at a sound cut off dead, anywhere.)"""
    x = beeps((0.2, 0.5, 0.83), seconds=1.2, bed=0.2, release=0.01)[None]
    y = stretch(x, x.shape[1] * factor, SR)
    own = np.abs(np.diff(x)).max()
    assert np.abs(np.diff(y)).max() <= own * 1.05
    # and the bed keeps its level through the joins: no 20 ms window dips below half
    n = int(0.02 * SR)
    env = np.sqrt(np.mean(np.square(y[0, : y.shape[1] // n * n].reshape(-1, n)), axis=1))
    assert env.min() > 0.5 * 0.2 / np.sqrt(2)


def analytic(y: np.ndarray) -> np.ndarray:
    """The signal without its negative frequencies (whose image would bias a low peak)."""
    spec = np.fft.fft(y)
    spec[1 : (y.size + 1) // 2] *= 2
    spec[(y.size + 1) // 2 :] = 0
    out: np.ndarray = np.fft.ifft(spec)
    return out


def peak_frequencies(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The peak frequency of each 20 ms frame (zero-padded 16 times, parabolic interpolation)."""
    n = int(0.02 * sr)
    z = analytic(y)
    frames = z[: z.size // n * n].reshape(-1, n) * np.hanning(n)
    spec = np.abs(np.fft.fft(frames, n=16 * n, axis=1))[:, : 8 * n]
    k = np.clip(spec.argmax(axis=1), 1, spec.shape[1] - 2)
    r = np.arange(len(k))
    a, b, c = (np.log(spec[r, k + d] + 1e-12) for d in (-1, 0, 1))
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / (16 * n)


@pytest.mark.parametrize("factor", [2, 4, 16])
def test_a_sweep_stays_one_rising_line(factor):
    """Cut from a longer sweep: the context around the segment is what the vocoder hears
    at its ends (as the audio graph gives it)."""
    c = 4096
    t = (np.arange(SR + 2 * c) - c) / SR
    x = (0.5 * np.sin(2 * np.pi * np.cumsum(200 * 20 ** t) / SR))[None]
    f = peak_frequencies(stretch(x, SR * factor, SR, context=(c, c))[0])[2:-2]
    assert np.all(np.diff(f) >= -0.002 * f[1:]), np.diff(f).min()
    assert f[0] < 260 and f[-1] > 3500


# -- lengths, streaming, channels, memory -------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(n_in=st.integers(0, 30000), extra=st.integers(0, 90000), channels=st.integers(1, 3),
       sr=st.sampled_from([8000, 22050, 44100, 48000]))  # fmt: skip
def test_exact_length_always(n_in, extra, channels, sr):
    x = np.random.default_rng(n_in).standard_normal((channels, n_in)) * 0.1
    y = stretch(x, n_in + extra, sr)
    assert y.shape == (channels, n_in + extra) and np.all(np.isfinite(y))
    if n_in >= 64:  # both ends are the input's own samples: seamless with what is around
        assert np.allclose(y[:, :4], x[:, :4], atol=1e-6) and np.allclose(y[:, -4:], x[:, -4:], atol=1e-6)


def test_streaming_in_any_blocks_gives_the_same():
    x = np.stack([beeps((0.2, 0.7), seconds=1.0, bed=0.1), beeps((0.4,), seconds=1.0)])
    whole = stretch(x, x.shape[1] * 3, SR)
    rng = np.random.default_rng(3)
    cuts = np.sort(rng.integers(0, x.shape[1], 12))
    blocks = iter(np.split(x, cuts, axis=1))
    streamed = np.concatenate(list(stretch_stream(blocks, x.shape[1], x.shape[1] * 3, SR, 2)), axis=1)
    assert np.array_equal(whole, streamed)


def test_a_source_that_ends_early_is_followed_by_silence():
    x = beeps((0.1,), seconds=0.4)[None]
    y = np.concatenate(list(stretch_stream(iter([x]), 2 * x.shape[1], 8 * x.shape[1], SR, 1)), axis=1)
    assert y.shape == (1, 8 * x.shape[1])
    assert np.abs(y[:, 4 * x.shape[1] + 2000 :]).max() < 1e-3


def test_channels_keep_their_own_sound_and_one_time_map():
    x = np.stack([beeps((0.2,), seconds=0.8), 0.5 * beeps((0.5,), seconds=0.8), np.zeros(int(0.8 * SR))])
    y = stretch(x, x.shape[1] * 4, SR)
    assert abs(starts(y[0])[0] - first_sample(0.2) * 4) <= 24
    assert abs(starts(y[1])[0] - first_sample(0.5) * 4) <= 24
    assert np.abs(y[2]).max() == 0


def test_a_long_segment_reads_its_input_as_it_goes():
    """Memory stays bounded: the input kept is a few seconds however long the segment."""
    n, block = 40 * SR, SR // 10
    held = []

    def blocks():
        rng = np.random.default_rng(0)
        for _ in range(n // block):
            held.append(1)
            yield 0.05 * rng.standard_normal((1, block))

    out = 0
    gen = stretch_stream(blocks(), n, 2 * n, SR, 1)
    most_ahead = 0
    for piece in gen:
        out += piece.shape[1]
        most_ahead = max(most_ahead, len(held) * block - out // 2)
    assert out == 2 * n
    assert most_ahead < 8 * SR  # never more than a gap's worth (5 s) and its context read ahead
