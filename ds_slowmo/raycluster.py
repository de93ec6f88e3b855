"""Joining a Ray cluster for ``--ray``, with one line for each way that fails.

A cluster address that doesn't answer is said at once (Ray itself retries and prints a
traceback). A cluster that answers but wants a token (Ray's token authentication, which a
head turns on with ``RAY_AUTH_MODE=token``, and newer Rays by default) makes Ray retry for
20 s, printing a warning a second, and then say only "Failed to connect": that is said as
what it is, with the fix. Ray's own lines during the attempt are kept off the terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Optional

from .errors import SlowmoError

__all__ = ["connect", "check_reachable", "auth_problem", "TOKEN_HELP"]

log = logging.getLogger("ds_slowmo")

#: how a client gets a token-authenticated cluster's token
TOKEN_HELP = ("`ray get-auth-token` on the head prints the token; give it here as RAY_AUTH_TOKEN (or in "
              "~/.ray/auth_token, or a file named by RAY_AUTH_TOKEN_PATH)")

_AUTH_WORDS = ("AuthenticationError", "InvalidAuthToken", "Unauthenticated", "authentication token")


def check_reachable(address: str) -> None:
    """A cluster that doesn't answer is one line at once, not Ray's retries and a traceback."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise SlowmoError(f"cannot reach the Ray cluster at {address} ({exc}); check the address, "
                          "and that the head runs (`ray status` on it)") from None  # fmt: skip


def auth_problem(where: str, said: str, env: Mapping[str, str]) -> Optional[str]:
    """The one-line error for a failed connection whose words (the exception chain and Ray's
    own lines, ``said``) show token authentication at work; ``None`` when they don't."""
    if not any(word in said for word in _AUTH_WORDS):
        return None
    token_mode = env.get("RAY_AUTH_MODE", "").lower() == "token"
    has_token = bool(env.get("RAY_AUTH_TOKEN") or env.get("RAY_AUTH_TOKEN_PATH")
                     or os.path.isfile(os.path.expanduser("~/.ray/auth_token")))  # fmt: skip
    if not token_mode:
        return (f"the Ray cluster at {where} requires token authentication, which this machine does not use: "
                f"set RAY_AUTH_MODE=token and the cluster's token ({TOKEN_HELP})")
    if not has_token:
        return f"the Ray cluster at {where} uses token authentication and this machine has no token: {TOKEN_HELP}"
    return f"the Ray cluster at {where} refused this machine's authentication token: use the head's own ({TOKEN_HELP})"


@contextmanager
def _ray_lines_kept() -> Iterator[list[str]]:
    """Standard error (the descriptor: Ray's core writes there itself) goes to a temporary file
    while inside; what was written is in the list after."""
    said: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield said
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            said.append(tmp.read().decode("utf-8", "replace"))


def connect(ray: Any, address: Optional[str]) -> None:
    """``ray.init`` for ``address`` (``None``, ``local`` or ``auto``: ``$RAY_ADDRESS`` or a
    local Ray); a failure is one :class:`SlowmoError` line naming its cause and its fix."""
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    remote = bool(address) and address not in ("local", "auto")
    if remote:
        assert address is not None
        check_reachable(address)
        kwargs["address"] = address
    where = address or os.environ.get("RAY_ADDRESS") or "a local Ray"
    said: list[str] = []
    try:
        if remote:  # a local Ray's processes would inherit the temporary file: left alone
            with _ray_lines_kept() as said:
                ray.init(**kwargs)
        else:
            ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        text = "\n".join([_chain(exc), *said])
        log.debug("Ray said:\n%s", text)
        problem = auth_problem(where, text, os.environ)
        if problem is not None:
            raise SlowmoError(problem) from None
        raise SlowmoError(f"cannot connect to the Ray cluster at {where} ({str(exc).splitlines()[0]}); "
                          "check it with `ray status` on the head") from None  # fmt: skip
    if said and said[0].strip():
        log.debug("Ray said while connecting:\n%s", said[0])


def _chain(exc: BaseException) -> str:
    """The messages of ``exc`` and of every exception behind it (Ray puts the reason there)."""
    parts: list[str] = []
    seen: set[int] = set()
    cur: Optional[BaseException] = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(f"{type(cur).__name__}: {cur}")
        cur = cur.__cause__ or cur.__context__
    return "\n".join(parts)
