"""A browser-less Streamlit client: speaks the ``/_stcore/stream`` websocket protocol like the frontend does.

One :class:`Session` is one browser tab: it connects, asks for a script run with a query string and a page
(``BackMsg.rerun_script`` carrying a ``ClientState``), and reads ``ForwardMsg``s until the run ends with
``script_finished``. Along the way it records what a user would have seen go wrong: an ``exception`` element
(a traceback box), an ``st.error`` alert, a compile error or a ``page_not_found``. Only for tests on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# script_finished statuses that end a run for good (FINISHED_EARLY_FOR_RERUN means another run follows).
_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}


@dataclass
class RunResult:
    """What one script run showed: the page's elements by kind and every error a user would have seen."""

    page: str
    seconds: float
    elements: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    query_string: str = ""


class Session:
    """One websocket session against a running ``streamlit run`` (``async with Session(url) as s: ...``)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        if not base_url.startswith("http://127.0.0.1:"):
            raise ValueError(f"load tests talk to 127.0.0.1 only (got {base_url!r})")
        self.ws_url = "ws://" + base_url.removeprefix("http://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash, from the navigation message
        self.page_hash = ""
        self.query_string = ""
        self._ws: websockets.ClientConnection | None = None

    async def __aenter__(self) -> Session:
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=2**27,
                                            open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def run(self, *, page: str = "", query_string: str | None = None) -> RunResult:
        """Ask for a run of ``page`` (url pathname, "" = default page) and read until it finishes."""
        assert self._ws is not None, "use 'async with Session(...)'"
        if query_string is not None:
            self.query_string = query_string
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        if page:
            if page not in self.pages:
                raise KeyError(f"no page {page!r}; the app offers {sorted(self.pages)}")
            state.page_script_hash = self.pages[page]
            state.page_name = page
        elif self.page_hash:
            state.page_script_hash = self.page_hash
        await self._ws.send(msg.SerializeToString())
        result = RunResult(page=page or "(default)", seconds=0.0)
        start = time.monotonic()
        deadline = start + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.errors.append(f"timeout after {self.timeout:.0f} s")
                break
            try:
                raw = await asyncio.wait_for(self._ws.recv(), remaining)
            except TimeoutError:
                result.errors.append(f"timeout after {self.timeout:.0f} s")
                break
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            if self._read(fwd, result):
                break
        result.seconds = time.monotonic() - start
        result.query_string = self.query_string
        return result

    def _read(self, fwd: ForwardMsg, result: RunResult) -> bool:
        """Record one ForwardMsg; True when the run is over."""
        kind = fwd.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = fwd.new_session.page_script_hash
            self._pages(fwd.new_session.app_pages)
        elif kind == "navigation":
            self.page_hash = fwd.navigation.page_script_hash or self.page_hash
            self._pages(fwd.navigation.app_pages)
        elif kind == "page_info_changed":
            self.query_string = fwd.page_info_changed.query_string
        elif kind == "page_not_found":
            result.errors.append(f"page not found: {fwd.page_not_found.page_name!r}")
        elif kind == "session_event" and fwd.session_event.WhichOneof("type") == "script_compilation_exception":
            result.errors.append(f"compile error: {fwd.session_event.script_compilation_exception.message}")
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            element = fwd.delta.new_element
            name = element.WhichOneof("type") or "?"
            result.elements[name] = result.elements.get(name, 0) + 1
            if name == "exception":
                result.errors.append(f"exception {element.exception.type}: {element.exception.message[:200]}")
            elif name == "alert" and element.alert.format == Alert.ERROR:
                result.errors.append(f"st.error: {element.alert.body[:200]}")
            elif name == "alert" and element.alert.format == Alert.WARNING:
                result.warnings.append(element.alert.body)
        elif kind == "script_finished":
            if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                result.errors.append("script finished with a compile error")
            return fwd.script_finished in _DONE
        return False

    def _pages(self, app_pages) -> None:
        for p in app_pages:
            if p.url_pathname or p.page_script_hash:
                self.pages[p.url_pathname] = p.page_script_hash
