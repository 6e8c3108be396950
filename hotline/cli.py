"""The ``hotline`` command: Django's management commands under product names.

hotline init [--demo] [--orders N --calls N]   create or upgrade the database
hotline run [--port P]                          web + worker in one process (embedded)
hotline worker                                  a worker alone (distributed)
hotline token USERNAME                          print a new API token
hotline createadmin USERNAME --role ROLE        open one of the three admin accounts
hotline resetpassword USERNAME                  new initial password (operator's door)
hotline check                                   installation self-check
hotline simulate --contacts N --agents M        web-chat load through the real stack (JSON)
"""

import os
import sys

ALIASES = {"check": "hotline_check", "worker": "run_huey"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in ALIASES:
        argv[1] = ALIASES[argv[1]]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
