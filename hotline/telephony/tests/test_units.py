"""Focused checks of the node's parts, replaying the packets of the aiosipua defects the
node covers (voice-engine notes) and the IVR flow check."""

import shutil
import struct

import numpy as np
import pytest

from hotline.core.errors import Unprocessable
from hotline.telephony import ivr, prompts, sip
from hotline.telephony.rtp import DigitDetector, Player

from .conftest import NO_TTS

INVITE = (
    b"INVITE sip:12345@127.0.0.1:5080 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-abc;rport\r\n"
    b"From: <sip:13800138000@127.0.0.1>;tag=aaa\r\n"
    b"To: <sip:12345@127.0.0.1>\r\n"
    b"Call-ID: c1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:13800138000@127.0.0.1:5060>\r\n"
    b"Content-Type: application/sdp\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"
)


def events(digit_code: int, timestamp: int, *, progress: int = 4, ends: int = 3):
    """The payloads of one RFC 4733 digit, as a phone sends them."""
    out = [struct.pack("!BBH", digit_code, 10, 160 * n) for n in range(1, progress + 1)]
    out += [struct.pack("!BBH", digit_code, 0x80 | 10, 160 * progress)] * ends
    return [(timestamp, payload) for payload in out]


def detect(packets, ssrc=7):
    detector = DigitDetector()
    return "".join(d for ts, p in packets if (d := detector.feed(ssrc, ts, p)))


def test_three_end_packets_make_one_digit():
    assert detect(events(2, 1000)) == "2"


def test_a_repeated_key_is_two_digits():
    assert detect(events(1, 1000) + events(1, 2000) + events(2, 3000)) == "112"


def test_digits_stamped_with_timestamp_zero_still_all_arrive():
    # aiosipua 0.7.1's send_dtmf stamps every digit 0: 12345# used to arrive as 1
    packets = sum((events(code, 0) for code in (1, 2, 3, 4, 5, 11)), [])
    assert detect(packets) == "12345#"


def test_end_packets_alone_still_give_the_digit():
    assert detect(events(9, 500, progress=0)) == "9"


def test_answer_mirrors_the_offered_event_type_and_keeps_the_callers_codec_order():
    request = sip.parse(INVITE)
    offer = sip.read_offer(request.body)
    assert offer.payload_type == 8  # PCMA offered first
    assert offer.event_type == 96
    assert offer.address == ("127.0.0.1", 40000)
    body = sip.answer_sdp("127.0.0.1", 20000, offer, 1).decode()
    assert "m=audio 20000 RTP/AVP 8 96" in body
    assert "a=rtpmap:96 telephone-event/8000" in body


def test_offer_without_g711_has_nothing_in_common():
    body = INVITE.split(b"\r\n\r\n", 1)[1].replace(b"RTP/AVP 8 0 96", b"RTP/AVP 9")
    assert sip.read_offer(body) is None


def test_a_retransmitted_invite_is_one_transaction_with_its_last_answer():
    transactions = sip.ServerTransactions()
    first, again = sip.parse(INVITE), sip.parse(INVITE)
    assert transactions.seen(first)[0] is False
    transactions.open(first, ("127.0.0.1", 5060))
    final = bytes(sip.response(first, 200, "OK", to_tag="t1"))
    transactions.answered(first, final, ("127.0.0.1", 5060))
    seen, last, _ = transactions.seen(again)
    assert seen and last == final
    assert b"To: <sip:12345@127.0.0.1>;tag=t1" in final


@pytest.mark.parametrize(
    "data",
    [
        INVITE.replace(b"Call-ID: c1@test\r\n", b""),
        INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"),
        INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE"),
    ],
)
def test_malformed_requests_are_refused_with_a_400_the_sender_can_match(data):
    with pytest.raises(sip.BadRequest) as refused:
        sip.parse(data)
    answer = sip.bad_request(data, refused.value.wire_text)
    assert answer.startswith(b"SIP/2.0 400 Bad Request\r\n")
    assert b"branch=z9hG4bK-abc" in answer


def test_garbage_gets_no_answer():
    assert sip.bad_request(b"\x00\x01 not sip", "unparsable") is None


def test_player_plays_once_then_silence(settings):
    import asyncio

    async def scenario():
        player = Player(0)
        done = player.play(b"\x00" * 320)
        frames = [player.frame() for _ in range(3)]
        return frames, done.result()

    frames, completed = asyncio.run(scenario())
    assert frames[:2] == [b"\x00" * 160] * 2 and frames[2] == b"\xff" * 160
    assert completed is True


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason=NO_TTS)
def test_mandarin_prompt_is_rendered_at_8khz_and_cached(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    samples = prompts.tts("您好")
    assert 0.3 < len(samples) / prompts.RATE < 3
    assert np.sqrt(np.mean(samples.astype(float) ** 2)) > 300
    assert len(list((tmp_path / "prompts").glob("tts-*.wav"))) == 1
    again = prompts.tts("您好")
    assert np.array_equal(samples, again)
    payload = prompts.encode(samples, 0)
    assert len(payload) % 160 == 0


def test_resampling_keeps_a_tone_in_band():
    t = np.arange(22050) / 22050
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    out = prompts.resample(tone, 22050)
    assert len(out) == 8000
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2


def test_default_flow_passes_the_check():
    start, nodes = ivr.default_nodes("general")
    ivr.check(start, nodes, {"general"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n: n["menu"].update(keys={"2": "nowhere"}), "不存在的节点"),
        (lambda n: n["menu"].update(keys={"x": "queue"}), "按键“x”无效"),
        (lambda n: n["queue"].update(queue="missing"), "队列“missing”不存在"),
        (lambda n: n["welcome"].update(type="dance"), "类型无效"),
        (lambda n: n["welcome"].pop("text"), "需要播放文本或录音"),
        (lambda n: n["menu"].update(timeout=600), "等待秒数"),
        (lambda n: n["queue"].update(after="nowhere"), "“坐席挂机后”指向不存在的节点"),
        (lambda n: n["survey"].update(next="nowhere"), "“下一节点”指向不存在的节点"),
        (lambda n: n.update(who={"type": "caller", "vip": "menu"}), "“其他号码”指向不存在"),
        (
            lambda n: n.update(who={"type": "caller", "black": "gone", "other": "menu"}),
            "“黑名单”指向不存在的节点",
        ),
    ],
)
def test_flows_a_call_could_get_lost_in_are_refused(change, message):
    start, nodes = ivr.default_nodes("general")
    change(nodes)
    with pytest.raises(Unprocessable, match=message):
        ivr.check(start, nodes, {"general"})
