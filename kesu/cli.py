"""The ``kesu`` command: ``serve``, ``demo`` and every Django management command.

    kesu migrate            create or upgrade the database
    kesu demo               load the demo organisation and complaints (idempotent)
    kesu serve [ADDR:PORT]  run the web server (default 127.0.0.1:8000)
    kesu worker             run the background worker (notifications, SLA sweep)
    kesu run [ADDR:PORT]    run the web server and the worker together (Ctrl-C stops both)
    kesu <command> ...      any Django management command (createsuperuser, shell, ...)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "kesu"
    if len(args) > 1 and args[1] == "serve":
        address = args[2] if len(args) > 2 and not args[2].startswith("-") else "127.0.0.1:8000"
        extra = [a for a in args[2:] if a.startswith("-")]
        args = ["kesu", "runserver", address, "--noreload", *extra]
    if len(args) > 1 and args[1] == "run":
        from kesu.worker import run

        sys.exit(run(args[2:]))
    if len(args) > 1 and args[1] == "worker":
        from kesu.worker import worker_argv

        args = worker_argv(args[2:])
    if len(args) == 1:
        print(__doc__)
        args = ["kesu", "help"]
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
