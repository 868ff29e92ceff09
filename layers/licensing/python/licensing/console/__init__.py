"""The staff console (`licensing console`, API.md section 4): a web UI for the vendor's team,
served by the staff member's own `licensing` command on 127.0.0.1, acting with the CLI's
credentials and services. No admin surface faces the internet; IAM stays the authority."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import Console
from .security import Guard, check_bind_host


class _QuietHandler(WSGIRequestHandler):
    """No request log: the sign-in URL carries the token, and pages name customers."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def serve(
    staff: Any,
    *,
    host: str,
    port: int,
    templates_dir: str,
    echo: Callable[[str], None],
    open_browser: bool = True,
) -> None:
    """Serve the console until Ctrl-C; print (and open) its one-time sign-in URL."""
    bind = check_bind_host(host)
    guard = Guard()
    from .queues import local_mail_queues

    console = Console(
        staff, guard, templates_dir, local_mail_queues if getattr(staff, "local", False) else None
    )
    server = make_server(bind, port, console, request_handler=_QuietHandler)
    guard.port = server.server_port
    echo(f"The staff console, for {console.actor()}: {guard.sign_in_url()}")
    echo("The link works once. Press Ctrl-C to stop.")
    if open_browser:
        webbrowser.open(guard.sign_in_url())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    echo("Stopped.")


__all__ = ["Console", "Guard", "check_bind_host", "serve"]
