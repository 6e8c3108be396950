"""Live pushes of the groups: what changed goes to the open chat pages.

Two channel-layer groups per chat group, because staff and citizens are shown different
names (citizens never see a staff member's name, as on the web chat):

* ``chatgroup.<id>.staff`` — the staff pages of the group (members and operators);
* ``chatgroup.<id>.guest`` — the citizens' pages.

Pushes go through the contact center's :func:`hotline.contact.live.publish` (after the
transaction commits; a channel layer that is down costs the live view, never the write),
so they arrive as ``"type": "contact.event"`` with an ``event`` name.
"""

from hotline.contact.live import publish

from . import tokens


def staff_group(group_id: int) -> str:
    return f"chatgroup.{group_id}.staff"


def guest_group(group_id: int) -> str:
    return f"chatgroup.{group_id}.guest"


def message_payload(message, *, guest: bool) -> dict:
    """A message as a page shows it; ``guest``: the citizen's page (public names)."""
    member = message.member
    if member is None:
        sender, affiliation = "", ""
    elif guest:
        sender, affiliation = member.public_name, ""
    else:
        sender, affiliation = member.display_name, member.affiliation
    return {
        "id": message.pk,
        "kind": message.kind,
        "body": message.body,
        "at": message.at.isoformat(),
        "member": message.member_id,
        "sender": sender,
        "affiliation": affiliation,
        "guest": bool(member and member.kind == member.Kind.GUEST),
        "image": tokens.file_url(message) if message.attachment else "",
        "client_id": message.client_id,
    }


def message_created(message) -> None:
    gid = message.group_id
    publish([staff_group(gid)], "message", message=message_payload(message, guest=False))
    publish([guest_group(gid)], "message", message=message_payload(message, guest=True))


def member_changed(member, change: str) -> None:
    """joined | removed | muted | unmuted: pages refresh their member list; the member
    concerned learns it (a removed one's socket is closed by the consumer)."""
    data = {"member": member.pk, "change": change, "muted": member.muted}
    publish([staff_group(member.group_id), guest_group(member.group_id)], "member", **data)


def group_changed(group) -> None:
    """Renamed or closed."""
    publish(
        [staff_group(group.pk), guest_group(group.pk)],
        "group",
        name=group.name,
        topic=group.topic,
        state=group.state,
        state_label=group.get_state_display(),
    )
