"""The ingest core keeps what a channel's own bug could not parse, and answers 400, not 500."""

from __future__ import annotations

import pytest

from channels import Channel, ChannelContext, WebhookRequest
from gateway.errors import MalformedPayload
from gateway.records import InboundMessage
from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows


class Crashing(Channel):
    """A channel with a bug: its parse raises something that is not ``MalformedPayload``."""

    name = "crashing"

    def verify(self, req: WebhookRequest) -> None:
        pass

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        return [InboundMessage(channel=self.name, provider_id=req.body.decode()[99], sender="")]


async def test_a_parser_bug_is_400_and_the_raw_message_is_kept(runtime: Runtime) -> None:
    await runtime.writer.start()
    try:
        request = WebhookRequest("POST", "http://x/", {"x-odd": "\udc80"}, b"+14015550142 body")
        with pytest.raises(MalformedPayload, match=r"IndexError at test_core\.py"):
            await runtime.ingest.take(Crashing({}, ChannelContext("Newport", str)), request)
        rows = await inbound_rows(runtime)
    finally:
        await runtime.writer.stop()
        await runtime.close()
    assert [(r.channel, r.state) for r in rows] == [("crashing", "unparsed")]
    assert "+14015550142" not in rows[0].error
