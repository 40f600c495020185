"""kombu's filesystem transport (the embedded broker), with each message whole before any
consumer can see it.

kombu opens a message's ``.msg`` file and then writes it; a consumer listing the folder in
between moves the empty file away, reads nothing and its worker stops ("Unrecoverable error:
JSONDecodeError"), so every job after it stays queued. Here the message is written under a name
no consumer takes (``.part`` after it) and renamed into place once written: a rename within one
folder is atomic, so a consumer finds the whole message or none."""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem channel names the message "payload", its abstract channel "message":
    # no signature satisfies both
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's name: consumers take the oldest first, by the time in its name
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = f"{path}.part"
        try:
            with open(partial, "wb", buffering=0) as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
