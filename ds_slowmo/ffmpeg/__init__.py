"""ffmpeg, in small rooms: finding and running it (:mod:`.process`), reading what it prints
(:mod:`.parse`, pure), asking it about a file (:mod:`.probe`), the decoder and its seek checks
(:mod:`.decode`), and what the encoder is told (:mod:`.encode`, pure). Each room's ``__all__``
is what it offers; this package offers all of them, so a name is listed once, in its room."""

from __future__ import annotations

from . import args as _args
from . import decode as _decode
from . import encode as _encode
from . import parse as _parse
from . import probe as _probe
from . import process as _process
from .args import *
from .decode import *
from .encode import *
from .parse import *
from .probe import *
from .process import *

__all__ = [*_process.__all__, *_args.__all__, *_parse.__all__, *_probe.__all__, *_decode.__all__, *_encode.__all__]
