"""The embedded broker (kombu's filesystem transport): a message is never seen half written."""

from __future__ import annotations

import pytest
from django.conf import settings
from kombu import Connection

from shop_assets.celery import app


def _connection(tmp_path) -> Connection:
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    return Connection("filesystem://", transport=settings.CELERY_BROKER_TRANSPORT, transport_options=options)


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"), reason="a broker server is configured"
)
def test_a_message_being_written_is_not_taken_by_a_consumer(tmp_path, monkeypatch):
    # given: the service's broker, a consumer looking at the queue while a message is written
    # (kombu's transport wrote the .msg file in place: the consumer took it empty and its
    # worker stopped with "Unrecoverable error: JSONDecodeError")
    assert app.connection_for_write().transport_cls == settings.CELERY_BROKER_TRANSPORT
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        import kombu.transport.filesystem as kombu_fs

        import shop_assets.broker as ours

        seen: list[str] = []

        def dumps_then_look(payload):
            # the moment between the file's creation and its bytes: what a consumer finds now
            try:
                seen.append(repr(channel._get("default")))
            except Exception as exc:  # noqa: BLE001 - what the consumer would have met
                seen.append(type(exc).__name__)
            return real_dumps(payload)

        real_dumps = ours.dumps
        monkeypatch.setattr(ours, "dumps", dumps_then_look)
        monkeypatch.setattr(kombu_fs, "dumps", dumps_then_look)

        # when: a message is sent
        channel._put("default", {"body": "hello"})

        # then: the consumer found no message while it was written, and the whole one after
        assert seen == ["Empty"]
        assert channel._get("default") == {"body": "hello"}
        assert list((tmp_path / "queue").iterdir()) == []
