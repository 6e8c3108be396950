"""IVR 流程编辑 (contact.configure): the platform's flows, the node editor, 试听 of a text
prompt and the uploaded 录音提示音.

The editor page is a form whose ``nodes`` field is the flow's JSON: ``ivr-editor.js``
shows it as one card per node and writes it back on submit; without the script (or with
"编辑 JSON") the JSON itself is edited. Every write goes through ``services``
(``ivr_flow_edit`` → ``ivr_flow_save``, ``prompt_upload``); their Chinese refusals are
shown on the form, which comes back with status 422 and what was typed.
"""

import io
import json
import re
import subprocess
import wave

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotline.web.pages import attempt, requires

from . import ivr, prompts, selectors, services

PERMISSION = "contact.configure"
TEXT_MAX = 300  # characters a 试听 may render


class FlowForm(forms.Form):
    name = forms.CharField(
        label="流程名称",
        max_length=50,
        error_messages={"required": "请填写流程名称", "max_length": "流程名称不能超过 50 个字"},
    )
    code = forms.RegexField(
        label="流程代码",
        regex=r"^[A-Za-z0-9_-]{1,30}$",
        help_text="字母、数字、- 或 _；保存后不能修改",
        error_messages={
            "required": "请填写流程代码",
            "invalid": "流程代码只能由字母、数字、- 或 _ 组成，不超过 30 个字符",
        },
    )
    number = forms.RegexField(
        label="接入号码",
        regex=r"^[0-9]{1,30}$",
        help_text="中继呼入的被叫号码；同一号码只能启用一个流程",
        error_messages={"required": "请填写接入号码", "invalid": "接入号码只能是数字"},
    )
    is_active = forms.BooleanField(label="启用", required=False)
    start = forms.CharField(
        label="起始节点",
        max_length=services.NODE_NAME_MAX,
        error_messages={"required": "请选择起始节点", "max_length": "起始节点名称过长"},
    )
    nodes = forms.CharField(
        label="节点",
        widget=forms.Textarea,
        strip=False,
        error_messages={"required": "流程至少需要一个节点"},
    )

    def __init__(self, *args, new: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not new:
            del self.fields["code"]

    def clean_nodes(self) -> dict:
        nodes, problem = parse_nodes(self.cleaned_data["nodes"])
        if problem:
            raise forms.ValidationError(problem)
        return nodes


def parse_nodes(text: str) -> tuple[dict, str]:
    """The nodes of the form's JSON, or a Chinese reason it is not a flow's nodes."""
    try:
        nodes = json.loads(text or "")
    except json.JSONDecodeError as error:
        where = f"第 {error.lineno} 行第 {error.colno} 列"
        return {}, f"节点数据不是有效的 JSON（{where}），请检查后重新提交"
    except RecursionError:
        return {}, "节点数据嵌套过深，不是有效的流程"
    if not isinstance(nodes, dict) or not all(isinstance(s, dict) for s in nodes.values()):
        return {}, "节点数据应为“节点名称 → 节点设置”的 JSON 对象"
    return nodes, ""


class UploadForm(forms.Form):
    title = forms.CharField(
        label="显示名称",
        max_length=services.PROMPT_TITLE_MAX,
        required=False,
        help_text="留空则使用文件名",
    )
    file = forms.FileField(
        label="录音文件",
        help_text="WAV（16 位 PCM，单声道或立体声，任意采样率），不超过 10 MB、5 分钟",
        error_messages={"required": "请选择录音文件", "empty": "录音文件是空文件"},
    )


def _recordings(platform) -> list[dict]:
    used = selectors.recordings_in_use(platform)
    return [
        {**row, "used_by": used.get(row["name"], [])}
        for row in selectors.prompt_recordings(platform)
    ]


def _list_page(request, upload_form: UploadForm, status: int = 200):
    platform = request.user.platform
    flows = selectors.ivr_flows(platform)
    rows = [{"flow": flow, "node_count": len(flow.nodes or {})} for flow in flows]
    return render(
        request,
        "telephony/ivr/list.html",
        {
            "rows": rows,
            "active_count": sum(1 for flow in flows if flow.is_active),
            "recordings": _recordings(platform),
            "upload_form": upload_form,
            "has_queues": bool(selectors.queue_choices(platform)),
        },
        status=status,
    )


@requires(PERMISSION)
@require_GET
def flow_list(request):
    return _list_page(request, UploadForm())


@requires(PERMISSION)
@require_POST
def prompt_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload, title = form.cleaned_data["file"], form.cleaned_data["title"]
        ok, _stored = attempt(
            request,
            lambda: services.prompt_upload(
                actor=request.user, platform=request.user.platform, upload=upload, title=title
            ),
            form=form,
            success=f"录音“{title or upload.name}”已上传，可在流程节点中选用",
        )
        if ok:
            return redirect("voice_flows")
    return _list_page(request, form, status=422)


def _editor_config(platform, error_text: str) -> dict:
    """What ivr-editor.js needs besides the nodes: names of kinds and fields, the queues
    and recordings to choose from, the addresses it plays from."""
    named = re.search(r"节点“(.+?)”", error_text)
    return {
        "kinds": [[code, label] for code, (label, _links) in ivr.KINDS.items()],
        "links": {code: list(links) for code, (_label, links) in ivr.KINDS.items()},
        "callers": [[code, ivr.FIELD_LABELS[code]] for code in (*ivr.CALLER_KINDS, "other")],
        "digits": sorted(ivr.DIGITS, key="1234567890*#".index),
        "queues": [[code, name] for code, name in selectors.queue_choices(platform)],
        "recordings": [
            [row["name"], f"{row['title']}（{row['seconds']:g} 秒）"]
            for row in selectors.prompt_recordings(platform)
        ],
        "tts_url": reverse("voice_prompt_tts"),
        "recording_url": reverse("voice_prompt_recording", args=["_"]).removesuffix("_"),
        "text_max": TEXT_MAX,
        "error_node": named.group(1) if named else "",
    }


def _editor(request, flow):
    platform = request.user.platform
    new = flow is None
    if request.method == "POST":
        form = FlowForm(request.POST, new=new)
        if form.is_valid():
            data = form.cleaned_data
            ok, saved = attempt(
                request,
                lambda: services.ivr_flow_edit(
                    actor=request.user,
                    platform=platform,
                    flow=flow,
                    code=data.get("code", ""),
                    name=data["name"],
                    number=data["number"],
                    start=data["start"],
                    nodes=data["nodes"],
                    is_active=data["is_active"],
                ),
                form=form,
                success=f"流程“{data['name']}”已保存，新的来电即按此流程接待",
            )
            if ok:
                return redirect("voice_flow_edit", pk=saved.pk)
        status = 422
    else:
        if new:
            queues = selectors.queue_choices(platform)
            start, nodes = ivr.default_nodes(queues[0][0] if queues else "")
            taken = any(f.number == platform.hotline_number for f in selectors.ivr_flows(platform))
            initial = {
                "name": "",
                "number": "" if taken else platform.hotline_number,
                "is_active": True,
            }
        else:
            start, nodes = flow.start, flow.nodes
            initial = {"name": flow.name, "number": flow.number, "is_active": flow.is_active}
        initial |= {"start": start, "nodes": json.dumps(nodes, ensure_ascii=False, indent=2)}
        form = FlowForm(initial=initial, new=new)
        status = 200
    errors = " ".join(form.errors.get("nodes", []) + form.errors.get("start", []))
    start_value = form["start"].value() or ""
    names = list(parse_nodes(form["nodes"].value())[0])
    return render(
        request,
        "telephony/ivr/edit.html",
        {
            "flow": flow,
            "form": form,
            "start_value": start_value,
            "start_names": names if start_value in names else [start_value, *names],
            "has_queues": bool(selectors.queue_choices(platform)),
            "config": _editor_config(platform, errors),
        },
        status=status,
    )


@requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def flow_new(request):
    return _editor(request, None)


@requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def flow_edit(request, pk: int):
    flow = selectors.ivr_flow_of(request.user.platform, pk)
    if flow is None:
        raise Http404("流程不存在")
    return _editor(request, flow)


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def wav_bytes(samples, rate: int = prompts.RATE) -> bytes:
    """A mono 16-bit WAV of ``samples``, in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


@requires(PERMISSION)
@require_GET
def prompt_tts(request):
    """试听: ``text`` as the caller will hear it (espeak-ng, 8 kHz), as a WAV."""
    text = request.GET.get("text", "").strip()
    if not 1 <= len(text) <= TEXT_MAX:
        return _plain(f"试听文本应为 1–{TEXT_MAX} 个字", 422)
    if text.startswith("-"):  # espeak-ng would read it as an option
        return _plain("试听文本不能以“-”开头", 422)
    try:
        samples = prompts.tts(text)
    except (OSError, subprocess.SubprocessError):
        return _plain("语音合成暂不可用：服务器未安装或无法运行 espeak-ng", 503)
    response = HttpResponse(wav_bytes(samples), content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@requires(PERMISSION)
@require_GET
def prompt_recording_file(request, name: str):
    """An uploaded 录音提示音 (only from the recordings folder, only the platform's)."""
    row = selectors.prompt_recording(request.user.platform, name)
    if row is None:
        raise Http404("录音不存在")
    return FileResponse(row["path"].open("rb"), content_type="audio/wav", filename=row["name"])
