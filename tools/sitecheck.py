"""Browser check of the rendered book: ``python -m tools.sitecheck _build/html --screenshots DIR``.

Serves the built site on 127.0.0.1 (a random free port, in a thread), opens every page in
headless Chromium driven over the Chrome DevTools Protocol (CDP) and fails a page on

* a page that does not load (navigation error or HTTP status >= 400),
* a missing image (an ``<img>`` from this site whose ``naturalWidth`` is 0),
* a JavaScript exception, a ``console.error`` call or a browser error log entry
  (e.g. a 404 for a script or stylesheet of this site),
* a traceback or an error in the text: "Traceback (most recent call last)", an error
  output cell, a ``SomethingError:`` line in a cell output, or a docutils system message,
* an exercise solution shown open instead of behind its toggle,
* raw TeX in the rendered prose (``$$``, ``\\frac``, ``\\sigma``, ``\\(`` ...) once MathJax has run,
  i.e. a formula MathJax did not typeset (code blocks are not prose and are not searched),
* a request to any other host (every request is recorded from CDP Network events; only the
  local server, ``data:`` and ``blob:`` URLs are allowed), so the site works offline,
* an interactive Plotly figure that is not drawn, or whose slider (a native range input), moved
  from the keyboard (focus, then an arrow key), does not change the figure's visible data and its
  text summary,
* a serious or critical accessibility violation found by axe-core (``tools/vendor/axe.min.js``,
  injected into the page: no network), in light mode and again in dark mode,
* a figure image whose alt text is empty or a file path, a notebook figure without a numbered
  caption ("Figure 3.2 ..."), or one shown so much smaller than drawn that its text falls below
  9 px (``MIN_FIGURE_SCALE``),
* a page heavier than ``MAX_PAGE_BYTES`` (3 MB) to open: the sum of what the browser loads for it,
  uncompressed, before the reader scrolls (figures below the first screen and plotly.js load lazily).

The browser cannot resolve other hosts, so the check is the same with and without network.
A PNG screenshot of each page is saved. Exit status 0 when every page passes.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}

# Evaluated in the page after load: everything the DOM can tell us, as one JSON string.
# It first waits for MathJax's first typesetting pass and for every Plotly figure to be drawn.
PAGE_PROBE_JS = r"""
(async () => {
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  const withTimeout = (p, ms) => Promise.race([p, sleep(ms)]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await withTimeout(MathJax.startup.promise.catch(() => null), 15000);
  }
  const figureDivs = () => Array.from(document.querySelectorAll('.plotly-graph-div'));
  // Explorers draw when they come near the screen (the site loads plotly.js lazily): visit each.
  for (const box of document.querySelectorAll('.madlib-explorer')) {
    box.scrollIntoView({block: 'center'});
    await sleep(100);
  }
  for (let waited = 0; waited < 10000 && figureDivs().length && !window.Plotly; waited += 100) await sleep(100);
  window.scrollTo(0, 0);
  for (let waited = 0; waited < 10000 && window.Plotly && figureDivs().some(f => !f._fullLayout); waited += 100) {
    await sleep(100);
  }
  // Lazy figures (loading="lazy") load as a reader scrolls: load them all now, then check them.
  document.querySelectorAll('img[loading="lazy"]').forEach(i => { i.loading = 'eager'; });
  for (let waited = 0; waited < 15000 && Array.from(document.images).some(i => !i.complete); waited += 100) {
    await sleep(100);
  }
  const local = (u) => { try { return new URL(u, location.href).origin === location.origin; } catch (e) { return false; } };
  const images = Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, local: local(i.currentSrc || i.src)}));
  const outputs = Array.from(document.querySelectorAll('.cell_output, .output')).map(e => e.innerText).join('\n');
  const errorCells = document.querySelectorAll('.output.traceback, .output.error, .cell_output .traceback').length;
  const systemMessages = Array.from(document.querySelectorAll('.system-message, .problematic')).map(e => e.innerText.slice(0, 200));
  // A solution counts as hidden when its body takes no space on the page (a closed toggle).
  const solutions = Array.from(document.querySelectorAll('div.solution'));
  const openSolutions = solutions.filter(e => Array.from(e.children).some(c => !c.classList.contains('admonition-title') && c.getBoundingClientRect().height > 0 && c.tagName !== 'BUTTON')).length;
  // Prose: every text node outside code, scripts and typeset math (hidden ones too: a closed
  // solution is opened by readers).
  const notProse = 'pre, code, script, style, textarea, noscript, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  const prose = [];
  for (let node; (node = walker.nextNode());) {
    if (node.parentElement && !node.parentElement.closest(notProse)) prose.push(node.nodeValue);
  }
  // A formula MathJax could not typeset (e.g. an unknown macro) shows as an error box.
  const mathErrors = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent || 'error');
  // An undefined macro is drawn in red as its own name (MathJax's noundefined): find the name in
  // the formula's MathML copy, which otherwise holds symbols, not TeX.
  Array.from(document.querySelectorAll('mjx-assistive-mml')).forEach(e => {
    const macro = (e.textContent || '').match(/\\[A-Za-z]+/);
    if (macro) mathErrors.push('undefined macro ' + macro[0]);
  });
  // Figure images: alt text, caption and number, and how much smaller than drawn they are shown.
  const figureImages = Array.from(document.querySelectorAll('.cell_output img, figure img, .figure img'))
    .filter(i => !i.closest('.madlib-explorer') && !i.closest('noscript')).map(i => {
      const figure = i.closest('figure');
      // textContent: a figure inside a closed solution still has its caption, just not shown yet
      const caption = figure ? (figure.querySelector('figcaption') || {}).textContent || '' : '';
      const drawn = parseFloat(i.style.width) || parseFloat(i.getAttribute('width')) || i.naturalWidth;
      const shown = i.getBoundingClientRect().width;
      return {src: i.getAttribute('src') || '', alt: i.getAttribute('alt') || '', caption: caption.trim().slice(0, 120),
              notebook: !!i.closest('.cell_output'), scale: drawn > 0 && shown > 0 ? shown / drawn : 1};
    });
  const figures = figureDivs().map(f => ({
    id: f.id, drawn: !!f._fullLayout,
    sliders: f._fullLayout && f._fullLayout.sliders ? f._fullLayout.sliders.map(s => s.steps.length) : [],
  }));
  return JSON.stringify({
    title: document.title,
    text: document.body ? document.body.innerText : '',
    prose: prose.join(' '),
    outputs, errorCells, systemMessages, images, figures, mathErrors,
    solutions: solutions.length, openSolutions, figureImages,
    height: Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight),
  });
})()
"""

# Before a keyboard move: note the explorer's visible data and summary, and focus its range input.
SLIDER_PREPARE_JS = r"""
((index) => {
  const gd = document.querySelectorAll('.plotly-graph-div')[index];
  const box = gd.closest('.madlib-explorer');
  const range = box ? box.querySelector('input[type=range]') : null;
  const summary = box ? box.querySelector('.madlib-explorer-summary') : null;
  const signature = () => JSON.stringify((gd._fullData || []).filter(t => t.visible === true)
      .map(t => [t.type, Array.from(t.x || []), Array.from(t.y || []), Array.from(t.z || [])]));
  gd.__sitecheck = {signature, before: signature(), summary: summary ? summary.textContent : ''};
  if (!range) return JSON.stringify({range: false});
  range.scrollIntoView({block: 'center'});
  range.focus();
  return JSON.stringify({range: true, focused: document.activeElement === range, active: +range.value,
                         steps: +range.max + 1, key: +range.value < +range.max ? 'ArrowRight' : 'ArrowLeft'});
})
"""

# After the key press: wait (up to 3 s) until the visible data and the text summary change.
SLIDER_RESULT_JS = r"""
(async (index) => {
  const gd = document.querySelectorAll('.plotly-graph-div')[index];
  const box = gd.closest('.madlib-explorer');
  const range = box.querySelector('input[type=range]');
  const summary = box.querySelector('.madlib-explorer-summary');
  let changed = false;
  for (let waited = 0; waited <= 3000 && !changed; waited += 100) {
    changed = gd.__sitecheck.signature() !== gd.__sitecheck.before;
    if (!changed) await new Promise(r => setTimeout(r, 100));
  }
  return JSON.stringify({active: +range.value, changed,
                         summaryChanged: !!summary && summary.textContent !== gd.__sitecheck.summary});
})
"""

# axe-core on the page as it is shown: the violations as [{id, impact, help, nodes: [target...]}].
AXE_RUN_JS = r"""
(async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return JSON.stringify(result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})));
})()
"""
# The theme's dark mode, as its toggle sets it (pydata-sphinx-theme: data-theme and data-mode).
DARK_MODE_JS = r"""
(async () => {
  document.documentElement.dataset.mode = 'dark';
  document.documentElement.dataset.theme = 'dark';
  await new Promise(r => setTimeout(r, 300));
  return document.documentElement.dataset.theme;
})()
"""
AXE_FILE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_FAILING_IMPACTS = ("serious", "critical")
MAX_PAGE_BYTES = 3_000_000
# A figure shown at less than this share of its drawn size has text below 9 px: the house style's
# text is 10.5 pt (madlib.plots.style), 16 CSS px at the inline backend's 110 px per inch, and 9/16 =
# 0.5625. (A figure's own smaller annotations are not measured.) Retina figures carry their CSS size
# in their style (myst-nb copies IPython's width metadata), so "drawn" is that size, not the pixels.
MIN_FIGURE_SCALE = 0.56

# Raw TeX in prose: display-math dollars, a TeX command, or MathJax's \( \[ delimiters left in place.
RAW_TEX_RE = re.compile(r"\$\$|\\[A-Za-z]{2,}(?![A-Za-z])|\\[(\[]")
# Only these need no host: inline data and in-page objects.
ALLOWED_SCHEMES = ("data:", "blob:", "about:")

TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)")
# An exception line as Python prints it, e.g. "ValueError: n must be ...", at the start of an output line.
ERROR_LINE_RE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception): ", re.MULTILINE)


@dataclass
class PageReport:
    """Outcome of one page: ``problems`` fail it, ``notes`` do not."""

    page: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: int = 0
    solutions: int = 0
    open_solutions: int = 0
    figures: int = 0
    sliders_moved: int = 0
    bytes: int = 0
    screenshot: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium(explicit: str | None = None) -> str | None:
    """Path of a Chromium/Chrome executable: ``explicit``, ``$CHROMIUM``, or the first on PATH."""
    for candidate in (explicit, os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate:
            path = shutil.which(candidate)
            if path:
                return path
    return None


def list_pages(root: Path) -> list[str]:
    """Every .html page under ``root`` (posix paths relative to it), minus search/index/static files."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if rel.name in SKIP_PAGES or any(part in SKIP_DIRS for part in rel.parts[:-1]):
            continue
        pages.append(rel.as_posix())
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 at a free port in a daemon thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class CDPError(RuntimeError):
    pass


class Browser:
    """Headless Chromium with a minimal synchronous CDP client over one websocket."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout: float = 30.0):
        import websocket  # websocket-client

        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix="sitecheck-chromium-")
        args = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "--remote-allow-origins=*",
            # Every host but this machine fails to resolve: the check never depends on the network.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            f"--window-size={width},{height}", "about:blank",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ws_url = self._wait_for_endpoint()
            self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True,
                                                  enable_multithread=False)
        except BaseException:
            self.close()
            raise
        self._next_id = 0
        self._events: list[dict] = []

    def _wait_for_endpoint(self) -> str:
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CDPError(f"chromium exited with status {self.process.returncode} before opening CDP")
            if port_file.exists():
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise CDPError("chromium did not open its DevTools port in time")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- protocol ---------------------------------------------------------------------------
    def _recv(self, timeout: float) -> dict | None:
        import websocket

        self.ws.settimeout(max(timeout, 0.01))
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its result; events arriving meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self._recv(deadline - time.monotonic())
            if reply is None:
                break
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)
        raise CDPError(f"{method}: no reply within {self.timeout:.0f} s")

    def pump(self, seconds: float, until: str | None = None, session: str | None = None) -> bool:
        """Collect events for up to ``seconds``; stop early (returning True) when event ``until`` arrives."""
        if until and any(e["method"] == until and e.get("sessionId") == session for e in self._events):
            return True
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            event = self._recv(left)
            if event is None:
                break
            if "method" in event:
                self._events.append(event)
                if until and event["method"] == until and event.get("sessionId") == session:
                    return True
        return False

    def take_events(self, session: str) -> list[dict]:
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine

    # -- one page -----------------------------------------------------------------------------
    def check_page(self, url: str, screenshot: Path | None = None, full_page: bool = False,
                   settle: float = 0.5, axe: bool = True) -> tuple[dict, list[dict], str | None, list[dict]]:
        """Open ``url`` in a fresh tab; return the DOM probe, the CDP events, the navigation error
        and one result per interactive figure whose slider was moved (see ``move_slider``)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", session=session)
            # Every page as a first visit: nothing from the cache of the pages checked before it.
            self.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
                      session=session)
            nav_error = self._navigate(url, session, settle)
            opened = sum(e.get("params", {}).get("encodedDataLength", 0) for e in self._events
                         if e.get("sessionId") == session and e["method"] == "Network.loadingFinished")
            probe = json.loads(self.evaluate(PAGE_PROBE_JS, session))
            probe["openingBytes"] = opened
            if screenshot is not None:
                params: dict[str, Any] = {"format": "png"}
                if full_page:
                    # A viewport as tall as the page (capped), so the layout is the reader's one.
                    height = max(self.height, min(int(probe.get("height") or self.height), 16000))
                    self.send("Emulation.setDeviceMetricsOverride",
                              {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                              session=session)
                    self.pump(0.3, session=session)
                data = self.send("Page.captureScreenshot", params, session=session)["data"]
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                tmp = screenshot.with_name(f".{screenshot.name}.{os.getpid()}.tmp")
                tmp.write_bytes(base64.b64decode(data))
                os.replace(tmp, screenshot)
            moves = [self.move_slider(i, session) for i, figure in enumerate(probe.get("figures", []))
                     if figure["drawn"]]
            if axe and AXE_FILE.is_file():
                probe["axe"] = {"light": self.run_axe(session)}
                self.evaluate(DARK_MODE_JS, session)
                probe["axe"]["dark"] = self.run_axe(session)
            return probe, self.take_events(session), nav_error, moves
        finally:
            with contextlib.suppress(CDPError):
                self.send("Target.closeTarget", {"targetId": target})
            self.take_events(session)

    def evaluate(self, expression: str, session: str) -> Any:
        """Value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(details.get("exception", {}).get("description") or details.get("text", "exception"))
        return result["result"].get("value")

    def run_axe(self, session: str) -> list[dict]:
        """axe-core's violations on the page as it is now (axe is injected from the vendored file)."""
        if not self.evaluate("typeof axe !== 'undefined'", session):
            self.evaluate(AXE_FILE.read_text(encoding="utf-8") + "\n;true", session)
        return json.loads(self.evaluate(AXE_RUN_JS, session))

    def move_slider(self, index: int, session: str) -> dict:
        """Move the slider of the page's ``index``-th explorer as a keyboard user does: focus its
        range input, press an arrow key (away from the end it is at). Returns the steps before and
        after, whether it had a focusable range input, and whether the figure's visible data and
        its text summary ``changed``."""
        before = json.loads(self.evaluate(f"{SLIDER_PREPARE_JS}({index})", session))
        if not before.get("range"):
            return {"figure": index, "range": False}
        codes = {"ArrowRight": 39, "ArrowLeft": 37}
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": before["key"], "code": before["key"],
                                                 "windowsVirtualKeyCode": codes[before["key"]]}, session=session)
        after = json.loads(self.evaluate(f"{SLIDER_RESULT_JS}({index})", session))
        return {"figure": index, "range": True, "focused": before["focused"], "steps": before["steps"],
                "from": before["active"], "to": after["active"], "changed": after["changed"],
                "summary_changed": after["summaryChanged"]}

    def _navigate(self, url: str, session: str, settle: float) -> str | None:
        result = self.send("Page.navigate", {"url": url}, session=session)
        if result.get("errorText"):
            return result["errorText"]
        if not self.pump(self.timeout, until="Page.loadEventFired", session=session):
            return f"no load event within {self.timeout:.0f} s"
        # Late scripts (MathJax, togglebutton) may still log errors: listen a little longer.
        self.pump(settle, session=session)
        # A redirect page (Jupyter Book's index.html: <meta http-equiv="refresh">) starts a second
        # load after the first: probing mid-way would read a page whose scripts have not run.
        for _ in range(3):
            mine = [e["method"] for e in self._events if e.get("sessionId") == session]
            loaded = len(mine) - 1 - mine[::-1].index("Page.loadEventFired")
            if "Page.frameStartedLoading" not in mine[loaded + 1:]:
                break
            if not self._wait_for_new(session, "Page.loadEventFired", mine.count("Page.loadEventFired")):
                return f"no load event within {self.timeout:.0f} s after a redirect"
            self.pump(settle, session=session)
        return None

    def _wait_for_new(self, session: str, method: str, seen: int) -> bool:
        """Collect events until the session has more than ``seen`` events ``method`` (or time out)."""
        deadline = time.monotonic() + self.timeout
        while sum(e["method"] == method and e.get("sessionId") == session for e in self._events) <= seen:
            if time.monotonic() >= deadline:
                return False
            self.pump(min(0.2, deadline - time.monotonic()), session=session)
        return True


def _event_problems(events: list[dict], origin: str, report: PageReport, page_url: str) -> None:
    """Sort the page's CDP events into failures and notes."""
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.responseReceived":
            response = params.get("response", {})
            # Browsers ask for /favicon.ico on their own; a site without one is not broken.
            if (response.get("status", 200) >= 400 and response.get("url", "").startswith(origin)
                    and not response["url"].endswith("/favicon.ico")):
                what = "page" if response["url"] == page_url else "resource"
                report.problems.append(f"HTTP {response['status']} for {what} {response['url'][len(origin):]}")
    elsewhere: list[str] = []
    for event in events:
        if event["method"] == "Network.requestWillBeSent":
            url = event.get("params", {}).get("request", {}).get("url", "")
            if not url.startswith(ALLOWED_SCHEMES) and not (url == origin or url.startswith(origin + "/")):
                if url not in elsewhere:
                    elsewhere.append(url)
    for url in elsewhere:
        report.problems.append(f"request to another host: {url[:160]}")
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "exception")
            report.problems.append(f"JavaScript exception: {text.splitlines()[0]}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            report.problems.append(f"console.{params['type']}: {text[:200]}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            url = entry.get("url", "")
            if url and not url.startswith(origin):
                pass  # already reported from the request above
            elif entry.get("source") == "network" and url.startswith(origin):
                pass  # already reported from the HTTP status above
            else:
                report.problems.append(f"browser error: {entry.get('text', '')[:200]}")


def _tex_problems(probe: dict, report: PageReport) -> None:
    """Raw TeX left in the prose, and formulas MathJax flagged as errors."""
    prose = probe.get("prose", "")
    found = []
    for match in RAW_TEX_RE.finditer(prose):
        if match.group() not in found:
            found.append(match.group())
    if found:
        first = RAW_TEX_RE.search(prose)
        context = " ".join(prose[max(first.start() - 40, 0):first.end() + 40].split())
        report.problems.append(f"raw TeX in the page text ({', '.join(found[:6])}): ...{context}...")
    for message in probe.get("mathErrors", [])[:5]:
        report.problems.append(f"MathJax could not typeset a formula: {message[:160]}")


def _figure_problems(probe: dict, moves: list[dict], report: PageReport) -> None:
    """Interactive figures: every one drawn, and every slider, moved from the keyboard, changes
    the figure and its text summary."""
    figures = probe.get("figures", [])
    report.figures = len(figures)
    undrawn = [f["id"] or "?" for f in figures if not f["drawn"]]
    if undrawn:
        report.problems.append(f"{len(undrawn)} Plotly figure(s) not drawn (is plotly.js loaded?): {', '.join(undrawn[:3])}")
    for move in moves:
        where = f"figure {move['figure'] + 1}"
        if not move["range"]:
            report.problems.append(f"{where}: no range input to move it from the keyboard")
            continue
        if move["steps"] < 2:
            continue
        report.sliders_moved += 1
        where += f": slider step {move['from']} -> {move['to']} of {move['steps']}"
        if not move["focused"]:
            report.problems.append(f"{where}: its range input cannot take the keyboard focus")
        elif move["from"] == move["to"]:
            report.problems.append(f"{where}: an arrow key did not move the slider")
        elif not move["changed"]:
            report.problems.append(f"{where} did not change the figure's data")
        elif not move["summary_changed"]:
            report.problems.append(f"{where} did not change the text summary")


def _image_problems(probe: dict, report: PageReport) -> None:
    """Figure images: real alt text, a numbered caption (notebook figures), and readable text."""
    for image in probe.get("figureImages", []):
        name = image["src"].rsplit("/", 1)[-1][:40]
        alt = image["alt"].strip()
        if not alt or alt == image["src"] or re.search(r"_images/|\.(png|svg|jpe?g)$", alt):
            report.problems.append(f"figure image {name} has no real alt text (alt={alt[:60]!r})")
        if image["notebook"] and not re.match(r"Fig(ure|\.) \d+(\.\d+)*", image["caption"]):
            report.problems.append(f"figure image {name} has no numbered caption")
        if image["scale"] < MIN_FIGURE_SCALE:
            report.problems.append(f"figure image {name} is shown at {image['scale']:.0%} of its drawn size: "
                                   "text below 9 px (make it full-width or narrower)")


def _axe_problems(probe: dict, report: PageReport) -> None:
    """axe-core violations: serious and critical ones fail the page, the rest are notes."""
    for mode, violations in (probe.get("axe") or {}).items():
        for v in violations:
            line = f"axe ({mode} mode) {v['impact']}: {v['id']}: {v['help']} at {', '.join(v['nodes'])[:160]}"
            (report.problems if v["impact"] in AXE_FAILING_IMPACTS else report.notes).append(line)


def _weight_problems(probe: dict, events: list[dict], report: PageReport, limit: int = MAX_PAGE_BYTES) -> None:
    """The page's weight: what the browser loads to open it (cold cache, as served, uncompressed here),
    before the reader scrolls; everything it loaded by the end of the check (every explorer drawn)
    is a note."""
    everything = sum(e.get("params", {}).get("encodedDataLength", 0) for e in events
                     if e["method"] == "Network.loadingFinished")
    opening = probe.get("openingBytes", everything)
    report.bytes = int(opening)
    if opening > limit:
        report.problems.append(f"page weighs {opening / 1e6:.1f} MB to open, over the {limit / 1e6:.0f} MB limit")
    if everything > opening:
        report.notes.append(f"{everything / 1e6:.1f} MB once every explorer was drawn")


def check_site(root: Path, screenshots: Path | None = None, chromium: str | None = None,
               full_page: bool = False, timeout: float = 30.0, pages: list[str] | None = None) -> list[PageReport]:
    """Check every page of the built site at ``root``; returns one report per page."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory (build the book first)")
    executable = find_chromium(chromium)
    if executable is None:
        raise FileNotFoundError("no Chromium found: install Debian's `chromium` package or set $CHROMIUM")
    pages = list_pages(root) if pages is None else pages
    reports = []
    with serve_directory(root) as base, Browser(executable, timeout=timeout) as browser:
        origin = base.rstrip("/")
        for page in pages:
            report = PageReport(page)
            start = time.monotonic()
            shot = screenshots / (page[:-5].replace("/", "__") + ".png") if screenshots else None
            url = base + page
            try:
                probe, events, nav_error, moves = browser.check_page(url, shot, full_page=full_page)
            except CDPError as error:
                report.problems.append(f"browser: {error}")
                reports.append(report)
                continue
            if nav_error:
                report.problems.append(f"page did not load: {nav_error}")
            _event_problems(events, origin, report, url)
            for image in probe["images"]:
                if not image["ok"]:
                    src = image["src"][len(origin):] if image["local"] else image["src"]
                    (report.problems if image["local"] else report.notes).append(f"missing image: {src}")
            report.images = sum(1 for i in probe["images"] if i["ok"])
            report.solutions = probe["solutions"]
            report.open_solutions = probe["openSolutions"]
            if TRACEBACK_RE.search(probe["text"]):
                report.problems.append("a traceback appears in the page text")
            if probe["errorCells"]:
                report.problems.append(f"{probe['errorCells']} error output cell(s)")
            error_line = ERROR_LINE_RE.search(probe["outputs"])
            if error_line:
                line = probe["outputs"][error_line.start():].strip().splitlines()[0]
                report.problems.append(f"error in a cell output: {line[:160]}")
            for message in probe["systemMessages"]:
                report.problems.append(f"build error rendered in the page: {message.splitlines()[0][:160]}")
            if probe["openSolutions"]:
                report.problems.append(f"{probe['openSolutions']} exercise solution(s) shown open "
                                       "(give the solution `:class: dropdown`)")
            if not probe["text"].strip():
                report.problems.append("page is empty")
            _tex_problems(probe, report)
            _figure_problems(probe, moves, report)
            _image_problems(probe, report)
            _axe_problems(probe, report)
            _weight_problems(probe, events, report)
            report.screenshot = str(shot) if shot else None
            report.seconds = time.monotonic() - start
            reports.append(report)
    return reports


def format_report(reports: list[PageReport]) -> str:
    """One line per page, then its problems (FAIL) and notes."""
    lines = []
    for r in reports:
        status = "ok  " if r.ok else "FAIL"
        figures = f", {r.figures} interactive figures ({r.sliders_moved} sliders moved)" if r.figures else ""
        lines.append(f"{status} {r.page}  ({r.images} images, {r.solutions} solutions ({r.open_solutions} shown open)"
                     f"{figures}, {r.bytes / 1e6:.1f} MB, {r.seconds:.1f} s)")
        lines += [f"       - {p}" for p in r.problems]
        lines += [f"       note: {n}" for n in r.notes]
    failed = sum(not r.ok for r in reports)
    lines.append(f"{len(reports)} pages checked, {failed} failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sitecheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built HTML folder, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for one PNG per page")
    parser.add_argument("--full-page", action="store_true", help="screenshot whole pages, not just the top")
    parser.add_argument("--chromium", default=None, help="browser executable (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a page")
    args = parser.parse_args(argv)
    try:
        reports = check_site(args.site, args.screenshots, args.chromium, args.full_page, args.timeout)
    except FileNotFoundError as error:
        print(f"sitecheck: {error}", file=sys.stderr)
        return 2
    print(format_report(reports))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
