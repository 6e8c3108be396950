"""The message bus of the distributed deployment (Redis) keeps an idle listener.

A desk or a citizen's chat can sit for minutes with nothing to say; the channel layer
waits for them with a blocking read of 5 s at a time. redis-py 8 cut every such read at
its 5 s default socket timeout and the layer closed the WebSocket (channels_redis#422).
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings


@pytest.mark.skipif(not settings.REDIS_URL, reason="需要 Redis（设置 REDIS_URL）")
def test_a_listener_idle_longer_than_the_blocking_read_still_receives():
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("idle-test", channel)
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(7)  # longer than one blocking read and the old socket timeout
        assert not receiving.done(), receiving
        await layer.group_send("idle-test", {"type": "ping", "n": 1})
        message = await asyncio.wait_for(receiving, 10)
        await layer.group_discard("idle-test", channel)
        return message

    assert async_to_sync(scenario)() == {"type": "ping", "n": 1}
