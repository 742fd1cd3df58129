"""The HTML report opens in headless Chromium: the single-page app renders without a script error, and
clicking through its navigation (category, subcategory, the eye button of each result) shows every
figure of the smoke run as a decoded image, byte for byte the file on disk and painted on screen, opens
every PDF in a viewer frame and offers every table for download.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated JSON
on file descriptors 3 and 4), so no extra Python package is needed. Skipped when no Chromium is found."""

import base64
import fcntl
import io
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from run_workflow import snakemake

BROWSERS = ("chromium", "chromium-headless-shell", "google-chrome")
WIDTH, HEIGHT = 1400, 900


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium page, driven over the DevTools protocol."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0):
        self.deadline = time.monotonic() + timeout
        self.events: list[dict] = []
        self._id = 0
        self._buffer = b""
        self.log = profile / "chromium.log"
        # The child's ends are moved above fd 10 so that placing them on fds 3 and 4 cannot clobber them.
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()
        child_in = fcntl.fcntl(to_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser)
        os.close(from_browser)

        def pipe_fds():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                "--mute-audio", "--remote-debugging-pipe", f"--user-data-dir={profile / 'user-data'}",
                f"--window-size={WIDTH},{HEIGHT}", "about:blank"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=pipe_fds, close_fds=False, start_new_session=True)
        os.close(child_in)
        os.close(child_out)
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.page(f"{domain}.enable")
            self.page("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # Chromium and its helper processes
            self.proc.wait()
        os.close(self._in)
        os.close(self._out)

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer in time; its log:\n{self.log.read_text()}")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the pipe; its log:\n{self.log.read_text()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data):]
        while True:
            reply = self._receive()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.call(method, self.session, **params)

    def wait_for(self, event: str) -> dict:
        while True:
            for message in self.events:
                if message.get("method") == event:
                    self.events.remove(message)
                    return message["params"]
            self.events.append(self._receive())

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (awaited if it is a promise)."""
        result = self.page("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise AssertionError(details.get("exception", {}).get("description", details["text"]))
        return result["result"].get("value")

    def screenshot(self, path: Path) -> np.ndarray:
        png = base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(png)
        return decode_png(png)

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and browser-logged errors so far."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(details.get("exception", {}).get("description", details["text"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                values = (arg.get("value", arg.get("description")) for arg in params["args"])
                found.append(" ".join(map(str, values)))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def assert_not_blank(pixels: np.ndarray, what: str):
    """Not one flat colour: many distinct colours, and the most common one covers less than 97 %."""
    packed = pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    colours, counts = np.unique(packed, return_counts=True)
    assert len(colours) > 50 and counts.max() < 0.97 * packed.size, f"{what} looks blank"


def assert_painted(screen: np.ndarray, view: dict, label: str):
    """The screenshot shows the figure itself where the app placed it (at its natural size, on white)."""
    from PIL import Image

    assert_not_blank(screen, f"the view of {label}")
    figure = Image.open(io.BytesIO(data_uri_bytes(view["src"]))).convert("RGBA")
    if (view["width"], view["height"]) != figure.size:
        return  # scaled to fit the window: nothing to compare pixel for pixel
    on_white = Image.alpha_composite(Image.new("RGBA", figure.size, "white"), figure).convert("RGB")
    expected = np.asarray(on_white, dtype=float)
    width, height = figure.size
    difference = []
    for x in range(int(view["x"]) - 1, int(view["x"]) + 2):  # a fractional position snaps to a pixel
        for y in range(int(view["y"]) - 1, int(view["y"]) + 2):
            painted = screen[max(y, 0):y + height, max(x, 0):x + width]
            if painted.shape[:2] == (height, width):
                difference.append(np.abs(painted - expected).mean())
    assert difference, f"{label} does not fit in the window"
    assert min(difference) < 2, f"{label} is not painted where the app placed it ({min(difference):.1f})"


def data_uri_bytes(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    assert header.startswith("data:") and header.endswith(";base64"), header[:80]
    return base64.b64decode(payload)


# Page-side helpers: click a navigation link by its text, list the result rows of the open (sub)category,
# click a row's eye button and wait for what the content pane then shows.
HELPERS = r"""
window.reportProbe = (() => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const nav = () => document.querySelector("#app nav");
  const links = () => Array.from(nav().querySelectorAll("a"));
  const content = () => document.querySelector("#app > div").lastElementChild;
  async function until(test, what) {
    for (let i = 0; i < 2000; i++) {
      const value = test();
      if (value) return value;
      await sleep(5);
    }
    throw new Error("timed out waiting for " + what);
  }
  const rows = () => Array.from(nav().querySelectorAll("table tbody tr"));
  const eyeButton = (row) => row.lastElementChild.querySelector("a");
  return {
    async click(text) {
      const link = await until(() => links().find((a) => a.textContent.trim() === text), "link " + text);
      link.click();
      await sleep(0);
    },
    async rows() {
      await until(() => nav().querySelector("table tbody tr"), "a results table");
      return rows().map((row) => ({
        label: row.firstElementChild.textContent.trim(),
        href: eyeButton(row).getAttribute("href"),
        download: eyeButton(row).getAttribute("download"),
      }));
    },
    async show(index) {
      const before = content().innerHTML;
      eyeButton(rows()[index]).click();
      await until(() => content().innerHTML !== before, "the content pane to change");
      const img = content().querySelector("img");
      if (img) {
        await until(() => img.complete, "the image to load");
        const box = img.getBoundingClientRect();
        return { kind: "img", src: img.src, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                 x: box.x, y: box.y, width: box.width, height: box.height };
      }
      const frame = content().querySelector("iframe");
      if (frame) return { kind: "iframe", src: frame.src };
      return { kind: "other", html: content().innerHTML.slice(0, 200) };
    },
    async settle() {  // the navigation bar animates its width: wait until the shown image stops moving
      const img = content().querySelector("img");
      let box = img.getBoundingClientRect();
      for (let still = 0; still < 3; ) {
        await sleep(50);
        const now = img.getBoundingClientRect();
        still = now.x === box.x && now.y === box.y && now.width === box.width ? still + 1 : 0;
        box = now;
      }
      return { x: box.x, y: box.y, width: box.width, height: box.height };
    },
  };
})();
true
"""

RENDERED = r"""
(async () => {
  for (let i = 0; i < 400; i++) {
    const graph = document.querySelector("#rulegraph svg, #rulegraph canvas");
    if (graph && graph.getBoundingClientRect().width > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const graph = document.querySelector("#rulegraph svg, #rulegraph canvas");
  return {
    loading: getComputedStyle(document.querySelector("#loading-screen")).display,
    nav: document.querySelector("#app nav") ? document.querySelector("#app nav").innerText : "",
    graph: graph ? graph.getBoundingClientRect().width : 0,
    categories: Object.keys(categories).map((c) => [c, Object.keys(categories[c])]),
  };
})()
"""


def visit_every_result(browser: Browser, categories, shot: Path) -> dict[str, dict]:
    """Click through the report as a reader would; what each result's eye button shows, by row label."""
    shown = {}
    for category, subcategories in categories:
        browser.evaluate(f"reportProbe.click({json.dumps(category if len(categories) > 1 else 'Results')})")
        for subcategory in subcategories:
            if len(subcategories) > 1:
                browser.evaluate(f"reportProbe.click({json.dumps(subcategory)})")
            for index, row in enumerate(browser.evaluate("reportProbe.rows()")):
                if row["href"] == "#":  # a viewer (image, PDF, HTML); otherwise a download link
                    view = browser.evaluate(f"reportProbe.show({index})")
                    if view["kind"] == "img" and not shot.exists():
                        view.update(browser.evaluate("reportProbe.settle()"))
                        assert_painted(browser.screenshot(shot), view, row["label"])
                else:
                    view = {"kind": "download", "src": row["href"], "name": row["download"]}
                shown[row["label"]] = view
            if len(subcategories) > 1:
                browser.evaluate(f"reportProbe.click({json.dumps(category)})")  # breadcrumb back up
        if len(categories) > 1:
            browser.evaluate("reportProbe.click('Results')")  # breadcrumb back to the menu
    return shown


@pytest.fixture(scope="session")  # session-scoped, so it is resolved (and skips) before smoke_run
def chromium() -> str:
    binary = find_browser()
    if binary is None:
        pytest.skip(f"no Chromium found (looked for {', '.join(BROWSERS)} on PATH)")
    return binary


def test_report_renders_every_figure_in_chromium(chromium, smoke_run, tmp_path):
    report = smoke_run / "results/report.html"
    if not report.exists():  # test_smoke writes the same report with the same command
        snakemake(smoke_run, "--report", "results/report.html")
    results = smoke_run / "results"
    figures = sorted(results.glob("figures/*.png"))
    assert figures

    browser = Browser(chromium, tmp_path)
    try:
        browser.page("Page.navigate", url=report.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        page = browser.evaluate(RENDERED)
        assert page["loading"] == "none", f"the app never started: {browser.errors()}"
        assert "Snakemake" in page["nav"], f"the app did not render: {browser.errors()}"
        assert page["graph"] > 0, f"the rule graph did not render: {browser.errors()}"
        for category, _ in page["categories"]:
            assert category in page["nav"], f"category {category} not in the menu"
        assert_not_blank(browser.screenshot(tmp_path / "report.png"), "the report's main page")
        browser.evaluate(HELPERS)
        shown = visit_every_result(browser, page["categories"], tmp_path / "figure.png")
        errors = browser.errors()
    finally:
        browser.close()
    assert not errors, errors

    assert all(view["kind"] in ("img", "iframe", "download") for view in shown.values()), shown
    images = {}
    for label, view in shown.items():
        if view["kind"] == "img":
            assert view["naturalWidth"] > 0, f"the browser could not decode {label}"
            data = data_uri_bytes(view["src"])
            pixels = decode_png(data)
            assert (view["naturalWidth"], view["naturalHeight"]) == (pixels.shape[1], pixels.shape[0]), label
            assert view["width"] > 0 and view["height"] > 0, f"{label} is not displayed"
            images[data] = label
    for figure in figures:
        assert figure.read_bytes() in images, f"{figure.name} is not shown by the report"
    opened = {data_uri_bytes(view["src"]) for view in shown.values() if view["kind"] != "img"}
    for path in sorted(results.glob("figures/*.pdf")) + sorted(results.glob("tables/*.csv")):
        assert path.read_bytes() in opened, f"{path.name} is not offered by the report"
    for label, view in shown.items():  # unlabelled results are listed by path: each shows its own file
        if (smoke_run / label).is_file():
            assert data_uri_bytes(view["src"]) == (smoke_run / label).read_bytes(), label
