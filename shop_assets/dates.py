"""How a merchant reads a moment, everywhere the service writes one: "3 Dec 2026, 12:05 UTC".

One format for the dashboard's pages, its messages and the reasons stored for a merchant to
read (a webhook endpoint's), in the service's time zone (``TIME_ZONE``) and named, never a
bare ``2026-12-03 12:05``. The dashboard shows it in a ``<time>`` element
(``dashboard_labels.when`` and ``ago``) whose title gives the second.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import dateformat, timezone

DAY_AND_TIME = "j M Y, H:i T"
TO_THE_SECOND = "j M Y, H:i:s T"


def human_moment(moment: datetime, seconds: bool = False) -> str:
    """``3 Dec 2026, 12:05 UTC`` (``12:05:07`` with ``seconds``), in the service's time zone."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return dateformat.format(local, TO_THE_SECOND if seconds else DAY_AND_TIME)
