"""Serving the page: ``trialplan serve`` (blocking) and ``tp.app(...)`` (a background server).

The server binds 127.0.0.1 unless told otherwise, on the port given (0: any
free port), and is ready when the address is printed or returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# socket, threading and webbrowser are imported where used: ``import trialplan`` loads this
# module (``tp.app``), and should not pay for a web server it may never start.

__all__ = ["AppServer", "create_app", "resolve_spec", "serve", "start"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _require_shiny() -> None:
    try:
        import shiny  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the web page needs Shiny for Python: pip install 'trialplan[app]' "
            f"({exc.name or 'shiny'} is not installed)",
            name=exc.name or "shiny",
        ) from None


def resolve_spec(obj: Any = None) -> tuple[Any, str]:
    """The Spec the page opens on, and the name of its file.

    Parameters
    ----------
    obj : Spec, design, TrialPlan, str or pathlib.Path, optional
        A spec, a design (the spec defaults apply), a resolved plan, or a
        TOML spec file; by default the rTMS x MBI starter spec
        (``tp.scenarios.state_dependent_synergy()``, what ``trialplan init``
        writes).

    Returns
    -------
    (Spec, str)
        The spec and the file name downloads use (the file's own name, else
        ``"trial.toml"``).

    Raises
    ------
    TypeError
        For anything else.
    SpecError
        For a spec file that cannot be read.

    Examples
    --------
    >>> spec, name = resolve_spec()
    >>> spec.scenario, name
    ('state_dependent_synergy', 'trial.toml')
    """
    from trialplan import scenarios
    from trialplan.plan import TrialPlan
    from trialplan.report.protocol import spec_of
    from trialplan.spec import Spec, read_spec

    if obj is None:
        return scenarios.state_dependent_synergy(), "trial.toml"
    if isinstance(obj, Spec):
        return obj, "trial.toml"
    if isinstance(obj, TrialPlan):
        return spec_of(obj), "trial.toml"
    if isinstance(obj, str | Path):
        path = Path(obj)
        return read_spec(path), path.name
    if getattr(obj, "design_kind", None):
        return Spec(design=obj), "trial.toml"
    raise TypeError(
        "spec_or_design must be a trialplan Spec, a design (tp.Factorial, tp.Parallel, "
        f"tp.SMART), a TrialPlan or the path of a TOML spec; got {obj!r}"
    )


def create_app(
    spec: Any = None, *, spec_name: str | None = None, out_name: str = "protocol"
) -> Any:
    """The Shiny application of the design page, opened on ``spec``.

    Parameters
    ----------
    spec : Spec, design, TrialPlan, str or pathlib.Path, optional
        What the page opens on (see :func:`resolve_spec`).
    spec_name : str, optional
        File name of the downloaded spec (default: the file's name, or
        ``"trial.toml"``).
    out_name : str, default "protocol"
        Name of the protocol folder; the downloads equal what
        ``trialplan protocol <spec_name> -o <out_name>`` writes.

    Returns
    -------
    shiny.App
        An ASGI application (serve it with uvicorn, or :func:`serve`).
    """
    _require_shiny()
    from shiny import App

    from trialplan.app import form
    from trialplan.app.page import page
    from trialplan.app.server import make_server

    resolved, name = resolve_spec(spec)
    spec_name = spec_name or name
    resolved.evaluate()  # a spec whose plan fails is refused here, not in the browser
    layout = form.layout_of(resolved)
    title = resolved.title or "Trial design"
    ui = page(layout, title=title, spec_name=spec_name, out_name=out_name)
    return App(ui, make_server(layout, spec_name=spec_name, out_name=out_name))


def _bind(host: str, port: int) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno,
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port "
            "(0 picks a free one)",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _server(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    return uvicorn.Server(config)


def serve(
    spec: Any = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    announce: Any = print,
) -> None:
    """Serve the page until interrupted (Ctrl+C): what ``trialplan serve`` runs.

    Parameters
    ----------
    spec : Spec, design, TrialPlan, str or pathlib.Path, optional
        What the page opens on (see :func:`resolve_spec`).
    host : str, default "127.0.0.1"
        Address to listen on (this computer only, by default).
    port : int, default 8000
        Port; 0 picks a free one.
    open_browser : bool, default False
        Open the page in the default web browser.
    announce : callable, default print
        Called with one line giving the address once the server listens.
    """
    app = create_app(spec)
    sock = _bind(host, port)
    url = _url(host, sock.getsockname()[1])
    server = _server(app)
    announce(f"trialplan: the design page is at {url} (Ctrl+C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class AppServer:
    """A design page served from a background thread (what ``tp.app(...)`` returns).

    Attributes
    ----------
    url : str
        The page's address.

    In a notebook the object shows the page inline; :meth:`stop` ends the
    server (it also ends with the Python session).
    """

    def __init__(self, app: Any, *, host: str, port: int) -> None:
        import threading
        import time

        self._sock = _bind(host, port)
        self.url = _url(host, self._sock.getsockname()[1])
        self._server = _server(app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="trialplan-app",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the design page did not start at {self.url}")
            time.sleep(0.02)

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        import threading

        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<trialplan design page at {self.url} ({state})>"

    def _repr_html_(self) -> str:
        return (
            f'<p><a href="{self.url}" target="_blank">{self.url}</a></p>'
            f'<iframe src="{self.url}" width="100%" height="900" '
            'style="border: 1px solid #ddd"></iframe>'
        )


def start(
    spec_or_design: Any = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    open_browser: bool = False,
) -> AppServer:
    """Serve the design page from a background thread and return at once.

    Parameters
    ----------
    spec_or_design : Spec, design, TrialPlan, str or pathlib.Path, optional
        What the page opens on (see :func:`resolve_spec`); by default the
        rTMS x MBI starter spec.
    host : str, default "127.0.0.1"
        Address to listen on.
    port : int, default 0
        Port (0: any free port).
    open_browser : bool, default False
        Open the page in the default web browser.

    Returns
    -------
    AppServer
        With the page's ``url``; shown inline in a notebook; ``stop()`` ends it.
    """
    server = AppServer(create_app(spec_or_design), host=host, port=port)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    return server
