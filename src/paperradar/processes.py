"""Who owns a job run: "host:pid" (or "host:pid/n", the n-th of several runs in one process),
and whether that process is known to have ended.

A job killed outright (SIGKILL, power loss, OOM killer) records nothing on its way out; its run
row stays `running` until someone notices that the process named in it is gone.
"""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def has_ended(owner: str | None) -> bool:
    """True when `owner` names a process on this host that no longer runs.

    Another host's process cannot be checked from here, nor can an owner in another form: both
    count as still running rather than be declared dead on a guess.
    """
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    pid = pid.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False
