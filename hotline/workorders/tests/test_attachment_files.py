"""Attachment files on disk (附件文件): a rolled-back upload leaves no file behind, and the
hourly sweep deletes old files that no attachment row references."""

import datetime as dt
import os
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from hotline.core.errors import Unprocessable
from hotline.workorders import services, tasks
from hotline.workorders.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def order(new_order):
    return new_order()


class Refused(Exception):
    """What a later step of the same transaction raises."""


def upload(name="现场.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def age(name: str, hours: float) -> None:
    """Make a stored file look ``hours`` old."""
    then = time.time() - hours * 3600
    os.utime(default_storage.path(name), (then, then))


def orphan(name: str, *, hours: float) -> str:
    """A file under the attachments directory that no row references."""
    stored = default_storage.save(f"workorders/2026/01/999/{name}", upload(name))
    age(stored, hours)
    return stored


# --- a rollback takes the file with it -----------------------------------------------------------


def test_rollback_after_attachment_add_leaves_no_file(wo, order, settings):
    with pytest.raises(Refused), services.attachment_files():
        attachment = services.attachment_add(actor=wo.agent, order=order, upload=upload())
        assert files(settings) == [attachment.file.name]  # there while the transaction runs
        raise Refused
    assert files(settings) == []
    assert not Attachment.objects.exists()


def test_set_rollback_without_an_error_also_removes_the_file(wo, order, settings):
    with services.attachment_files():
        services.attachment_add(actor=wo.agent, order=order, upload=upload())
        transaction.set_rollback(True)
    assert files(settings) == []
    assert not Attachment.objects.exists()


def test_outer_rollback_removes_files_of_inner_blocks_that_succeeded(wo, order, settings):
    with pytest.raises(Refused), services.attachment_files():
        with services.attachment_files():
            services.attachment_add(actor=wo.agent, order=order, upload=upload("一.png"))
        services.attachment_add(actor=wo.agent, order=order, upload=upload("二.png"))
        assert len(files(settings)) == 2
        raise Refused
    assert files(settings) == []


def test_a_refused_second_file_takes_the_first_with_it(wo, order, settings):
    """Intake and reply store several files in one transaction: one refused, none kept."""
    with pytest.raises(Unprocessable), services.attachment_files():
        services.attachment_add(actor=wo.agent, order=order, upload=upload("一.png"))
        services.attachment_add(
            actor=wo.agent, order=order, upload=SimpleUploadedFile("二.exe", b"MZ" + PNG)
        )
    assert files(settings) == []
    assert not Attachment.objects.exists()


def test_committed_attachment_keeps_its_file(wo, order, settings):
    with services.attachment_files():
        attachment = services.attachment_add(actor=wo.agent, order=order, upload=upload())
    assert files(settings) == [attachment.file.name]
    assert default_storage.open(attachment.file.name).read() == PNG


# --- the sweep ---------------------------------------------------------------------------------


def test_sweep_removes_an_old_orphan_and_keeps_referenced_and_fresh_files(wo, order, settings):
    referenced = services.attachment_add(actor=wo.agent, order=order, upload=upload())
    age(referenced.file.name, 5)  # old, but its row is there
    old = orphan("old.png", hours=2)
    fresh = orphan("fresh.png", hours=0.25)  # may still belong to an open transaction

    assert services.attachments_sweep_orphans() == [old]

    assert files(settings) == sorted([referenced.file.name, fresh])
    assert default_storage.open(referenced.file.name).read() == PNG


def test_sweep_minimum_age_is_a_parameter(wo, order, settings):
    fresh = orphan("fresh.png", hours=0.25)
    assert services.attachments_sweep_orphans(older_than=dt.timedelta(hours=1)) == []
    assert services.attachments_sweep_orphans(older_than=dt.timedelta(minutes=10)) == [fresh]
    assert files(settings) == []


def test_sweep_leaves_files_outside_the_attachments_directory(db, settings):
    other = default_storage.save("exports/old-report.txt", SimpleUploadedFile("r.txt", b"x"))
    age(other, 48)
    assert services.attachments_sweep_orphans() == []
    assert files(settings) == [other]


def test_sweep_with_no_attachments_directory_does_nothing(db, settings):
    assert services.attachments_sweep_orphans() == []


def test_worker_sweeps_hourly(wo, order, settings):
    old = orphan("old.png", hours=3)
    kept = services.attachment_add(actor=wo.agent, order=order, upload=upload())
    age(kept.file.name, 3)
    tasks.sweep_orphan_attachments.call_local()
    assert files(settings) == [kept.file.name]
    assert old not in files(settings)
    task = tasks.sweep_orphan_attachments.s()
    runs = [
        hour
        for hour in range(24)
        for minute in range(60)
        if task.validate_datetime(dt.datetime(2026, 11, 23, hour, minute))
    ]
    assert runs == list(range(24))  # once in every hour
