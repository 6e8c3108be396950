"""Real calls over SIP and RTP on loopback into the media node: the IVR, the queue,
hanging up, and the trunk's housekeeping (OPTIONS, CANCEL, unknown numbers, bad input)."""

import asyncio
import shutil
import subprocess
import time

import numpy as np
import pytest

from hotline.contact import services as contact
from hotline.contact.models import (
    CitizenIdentity,
    CitizenProfile,
    ContactFact,
    FactKind,
    Session,
)
from hotline.telephony import services

pytestmark = pytest.mark.django_db(transaction=True)


def until(condition, timeout: float = 10.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def loud(samples: np.ndarray) -> bool:
    """Not silence: speech or music well above the noise floor."""
    return len(samples) > 0 and float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 300


def test_caller_hears_the_prompt_presses_2_queues_and_abandons(node, hotline):
    phone = node.phone(number="13912345678")
    answer = node.phones.run(phone.call())
    assert answer.status_code == 200
    assert [m.status_code for m in phone.messages][:3] == [100, 180, 200]
    # the answer mirrors the offered telephone-event type (96), not the library's 101
    assert "telephone-event" in answer.text and answer.text.count(" 96") >= 1
    assert "a=rtpmap:101" not in answer.text

    until(lambda: loud(phone.heard()), timeout=5)  # 您好 …
    until(lambda: len(phone.audio) > 100, timeout=5)  # … and on into the menu
    node.phones.run(phone.press("2"))

    session = until(lambda: Session.objects.filter(channel="voice").first())
    assert session.address == "13912345678"
    assert session.state == "queued"
    assert session.queue == hotline.queue

    since = len(phone.audio)
    until(lambda: loud(phone.heard(since)), timeout=8)  # 排队通报 and music on hold

    assert node.phones.run(phone.bye()).status_code == 200
    until(lambda: Session.objects.get(pk=session.pk).state == "abandoned")
    assert ContactFact.objects.filter(session_id=session.pk, kind=FactKind.ABANDONED).exists()
    until(lambda: not node.calls)


def test_with_an_agent_signed_in_the_call_is_offered_to_them(node, hotline, make_user):
    agent = make_user("agent", username="agent_voice", display_name="话务员刘洋")
    contact.agent_sign_in(actor=agent, ready=True)
    phone = node.phone(number="13700000001")
    assert node.phones.run(phone.call()).status_code == 200
    until(lambda: len(phone.audio) > 60, timeout=5)
    node.phones.run(phone.press("2"))
    session = until(lambda: Session.objects.filter(channel="voice").first())
    until(lambda: Session.objects.get(pk=session.pk).agent_id == agent.pk)
    assert Session.objects.get(pk=session.pk).state in ("offered", "active")
    node.phones.run(phone.bye())


def test_no_key_replays_the_menu_then_says_goodbye_and_hangs_up(node, hotline):
    phone = node.phone()
    assert node.phones.run(phone.call()).status_code == 200
    bye = node.phones.run(phone.wait_for(lambda m: getattr(m, "method", "") == "BYE", 20))
    assert bye.call_id == phone.call_id
    assert loud(phone.heard())
    assert not Session.objects.exists()
    until(lambda: not node.calls)


def test_out_of_hours_the_caller_hears_the_notice_and_the_node_hangs_up(node, hotline):
    contact.queue_update(
        actor=None, queue=hotline.queue, weekly_hours={str(d): [] for d in range(7)}
    )
    phone = node.phone()
    assert node.phones.run(phone.call()).status_code == 200
    node.phones.run(phone.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))
    assert loud(phone.heard())


def test_options_is_answered_for_trunk_health(node):
    phone = node.phone()
    answer = node.phones.run(phone.options())
    assert answer.status_code == 200
    assert "INVITE" in answer.get_header("Allow")


def test_unknown_number_is_404(node, hotline):
    phone = node.phone()
    assert node.phones.run(phone.call("99999")).status_code == 404
    until(lambda: not node.calls)


def test_no_common_codec_is_488(node, hotline):
    phone = node.phone()
    sdp = phone.offer(formats=(9,)).replace("a=rtpmap:0 PCMU/8000\r\n", "")
    sdp = sdp.replace("a=rtpmap:8 PCMA/8000\r\n", "a=rtpmap:9 G722/8000\r\n")
    assert node.phones.run(phone.call(sdp=sdp)).status_code == 488


@pytest.mark.answer_delay(2.0)
def test_cancel_before_answer(node, hotline):
    phone = node.phone()
    phone.send(phone.invite_bytes())
    node.phones.run(phone.wait_for(lambda m: getattr(m, "status_code", 0) == 180))
    phone.cancel()
    node.phones.run(phone.wait_for(lambda m: getattr(m, "status_code", 0) == 487))
    assert phone.responses(200, "CANCEL")
    assert not phone.responses(200, "INVITE")
    until(lambda: not node.calls or all(not c.alive for c in node.calls.values()))


def test_duplicate_invite_makes_one_dialog_and_a_late_copy_gets_the_200_again(node, hotline):
    phone = node.phone()
    invite = phone.invite_bytes()
    phone.send(invite)
    phone.send(invite)  # the trunk retransmits before our 100 Trying reaches it
    first = node.phones.run(phone.wait_for(lambda m: getattr(m, "status_code", 0) == 200))
    assert len(node.calls) == 1
    phone.send(invite)  # retransmitted after the 200 (our 200 was lost): the 200 again
    until(lambda: len(phone.responses(200)) >= 2, timeout=3)
    tags = {r.to_addr.tag for r in phone.responses(200)}
    assert tags == {first.to_addr.tag}
    phone.ack(first)
    assert len(node.calls) == 1
    node.phones.run(phone.bye())


def test_malformed_request_gets_400_and_the_node_serves_the_next_call(node, hotline):
    phone = node.phone()
    no_call_id = b"\r\n".join(
        line for line in phone.invite_bytes().split(b"\r\n") if not line.startswith(b"Call-ID")
    )
    phone.send(no_call_id)
    bad = node.phones.run(phone.wait_for(lambda m: getattr(m, "status_code", 0) == 400))
    assert "call-id" in bad.get_header("Warning").lower()
    phone.send(b"\x00\xffgarbage that is not SIP at all\r\n\r\n")
    phone.send(b"INVITE\r\n\r\n")
    for _ in range(100):  # the node reads its socket in its own thread
        if node.stats["bad_requests"] >= 2:
            break
        time.sleep(0.05)
    assert node.stats["bad_requests"] >= 2
    other = node.phone()
    assert node.phones.run(other.call()).status_code == 200
    node.phones.run(other.bye())


@pytest.mark.skipif(not shutil.which("sipp"), reason="sipp (Debian sip-tester) is not installed")
@pytest.mark.parametrize("transport", ["u1", "t1"], ids=["udp", "tcp"])
def test_sipp_an_outside_user_agent_completes_a_call(node, hotline, tmp_path, transport):
    """SIPp's built-in UAC: INVITE → 100/180/200 → ACK → BYE → 200, as a carrier would —
    over UDP, and over TCP (one connection, messages framed by Content-Length)."""
    done = subprocess.run(
        [
            "sipp",
            "-sn",
            "uac",
            "-s",
            "12345",
            f"127.0.0.1:{node.address[1]}",
            "-i",
            "127.0.0.1",
            "-p",
            "0",
            "-t",
            transport,
            "-m",
            "1",
            "-timeout",
            "15s",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(tmp_path / "errors.log"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    until(lambda: not node.calls)


def test_the_caller_number_branch_greets_a_vip_and_turns_a_blacklisted_number_away(
    node, hotline, make_user
):
    services.ivr_flow_save(
        actor=None,
        platform=hotline.platform,
        code="quick",
        name="号码分支",
        number="12345",
        start="who",
        nodes={
            "who": {"type": "caller", "black": "refuse", "vip": "vip", "other": "queue"},
            "vip": {"type": "play", "text": "尊敬的来电人您好", "next": "queue"},
            "refuse": {"type": "hangup", "text": "很抱歉，暂时无法为您服务"},
            "queue": {"type": "queue", "queue": "general"},
        },
    )
    profile = CitizenProfile.objects.create(platform=hotline.platform, name="郑先生", is_vip=True)
    CitizenIdentity.objects.create(
        platform=hotline.platform, profile=profile, kind="phone", value="13900009999"
    )
    contact.list_add(
        actor=None,
        platform=hotline.platform,
        kind="black",
        identity_kind="phone",
        value="13900006666",
        reason="多次恶意骚扰",
    )

    vip = node.phone(number="13900009999")
    assert node.phones.run(vip.call()).status_code == 200
    until(lambda: Session.objects.filter(address="13900009999").exists(), timeout=10)

    blocked = node.phone(number="13900006666")
    assert node.phones.run(blocked.call()).status_code == 200
    node.phones.run(blocked.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))
    assert loud(blocked.heard())
    assert not Session.objects.filter(address="13900006666").exists()  # never queued
    node.phones.run(vip.bye())


def _options(branch: str, call_id: str) -> bytes:
    return (
        f"OPTIONS sip:12345@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:probe@127.0.0.1>;tag=p1\r\n"
        "To: <sip:12345@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def _over_tcp(port: int, chunks: list[bytes], replies: int) -> list[bytes]:
    """Send ``chunks`` on one connection (a pause between them); the answers read back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.05)
    got = b""
    while got.count(b"SIP/2.0 200") < replies:
        data = await asyncio.wait_for(reader.read(4096), 3)
        if not data:
            break
        got += data
    writer.close()
    return got.split(b"SIP/2.0 ")[1:]


async def _dropped(port: int, data: bytes) -> bool:
    """Whether the node closes the connection after ``data``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), 3) == b""
    finally:
        writer.close()


def test_sip_over_tcp_is_framed_by_content_length(node, hotline):
    port = node.address[1]
    first, second = _options("a1", "tcp-1@test"), _options("a2", "tcp-2@test")
    # one message cut in two, then the rest of it glued to a second one: two answers
    replies = node.phones.run(
        _over_tcp(port, [first[:40], first[40:] + b"\r\n" + second], replies=2)
    )
    assert len(replies) == 2 and all(r.startswith(b"200 OK") for r in replies)
    assert b"tcp-1@test" in replies[0] and b"tcp-2@test" in replies[1]
    # a head without Content-Length has no end on a stream: the node hangs up on it
    no_length = _options("a3", "tcp-3@test").replace(b"Content-Length: 0\r\n", b"")
    assert node.phones.run(_dropped(port, no_length))
    assert node.phones.run(_dropped(port, b"X" * 70000))  # no message end in sight


@pytest.mark.skipif(not shutil.which("sipp"), reason="sipp (Debian sip-tester) is not installed")
def test_sipp_a_caller_presses_2_is_put_through_to_the_agent_and_recorded(
    node, hotline, make_user, tmp_path
):
    """An outside user agent walks the IVR by DTMF: SIPp calls, plays its own RFC 4733
    capture of key 2 during the menu, is queued, put through to the agent's phone and
    recorded, then hangs up."""
    import pathlib

    from hotline.telephony.models import CallRecording

    from .test_bridge import agent_with_phone

    desk = node.agent_phone(answer_after=0.2)
    agent_with_phone(make_user, desk)
    scenario = pathlib.Path(__file__).with_name("sipp") / "caller_presses_2.xml"
    done = subprocess.run(
        ["sipp", "-sf", str(scenario), "-s", "12345", f"127.0.0.1:{node.address[1]}"]
        + ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", "0", "-m", "1", "-timeout", "30s"]
        + ["-nostdin", "-trace_err", "-error_file", str(tmp_path / "errors.log")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    session = until(lambda: Session.objects.filter(address="13900002222").first())
    assert session.answered_at is not None  # key 2 → queue → the agent's phone picked up
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    saved = until(lambda: CallRecording.objects.filter(session=session).first())
    assert saved.seconds > 3.0  # the time they were put through, recorded
