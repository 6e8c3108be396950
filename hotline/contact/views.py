"""Contact-center views shared by the pages: a message's file for staff, and the
callback tasks (回拨任务)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from hotline.core.errors import NotFound
from hotline.telephony import selectors as voice
from hotline.web import pages

from . import selectors, services
from .models import SATISFACTION, Message
from .selectors import session_for


@login_required
def message_file(request, pk):
    """A chat message's image or file, for whoever may open its session."""
    message = Message.objects.filter(pk=pk).only("session_id", "attachment").first()
    if message is None or not message.attachment:
        raise Http404("文件不存在")
    try:
        session_for(request.user, message.session_id)
    except NotFound as error:  # not this person's session: as if it did not exist
        raise Http404(error.message) from None
    try:
        handle = message.attachment.open("rb")
    except OSError:
        raise Http404("文件已丢失") from None
    name = message.attachment.name.rsplit("/", 1)[-1]
    inline = name.lower().endswith((".jpg", ".jpeg", ".png"))
    return FileResponse(handle, as_attachment=not inline, filename=name)


class CallbackForm(forms.Form):
    session = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="回拨结果", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    satisfaction = forms.CharField(label="满意度", required=False, max_length=10)


@pages.requires("contact.handle")
@require_http_methods(["GET", "POST"])
def callbacks(request):
    """回拨任务: requests left out of hours or after a long wait, oldest first; the agent
    calls or writes back, records the result, and may make an order from the request."""
    status = 200
    if request.method == "POST":
        form = CallbackForm(request.POST)
        if form.is_valid():
            try:
                session = session_for(request.user, form.cleaned_data["session"])
            except NotFound as error:
                raise Http404(error.message) from None
            ok, _ = pages.attempt(
                request,
                lambda: services.callback_done(
                    actor=request.user,
                    session=session,
                    note=form.cleaned_data["note"],
                    satisfaction=form.cleaned_data["satisfaction"],
                ),
                success=f"回拨任务 {session.ref} 已完成",
            )
            if ok:
                return redirect("contact_callbacks")
        else:
            messages.error(request, "请填写回拨结果")
        status = 400
    tasks = selectors.callback_tasks(request.user)
    dialled = voice.latest_callbacks(task.pk for task in tasks)
    for task in tasks:
        task.dialled = dialled.get(task.pk)  # its last 电话回拨, if any
    return render(
        request,
        "contact/callbacks.html",
        {
            "tasks": tasks,
            "done": selectors.callback_tasks(request.user, done=True, limit=20),
            "levels": SATISFACTION,
            "has_phone": bool(voice.phone_of(request.user.pk)),
        },
        status=status,
    )
