"""The checked-in reference docs are what the declarations generate."""

from hotline.core import reference, roles


def test_declarations_are_consistent():
    roles.check_declarations()


def test_docs_are_generated_from_declarations():
    for name, render in reference.GENERATED.items():
        on_disk = (reference.DOCS / name).read_text(encoding="utf-8")
        assert on_disk == render(), f"docs/{name} is stale: run `make docs`"
