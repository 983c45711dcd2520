"""The live page in a real headless Chromium: fake microphone -> server -> page."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from live_support import live_models, meeting, running_server  # noqa: F401  fixtures

pytestmark = [pytest.mark.slow, pytest.mark.models]

#: Where the screenshot is kept (CI keeps build/ as its artifacts folder).
ARTIFACTS = Path(os.environ.get("STREAMZ_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "build" / "test-artifacts"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") and not os.environ.get("STREAMZ_NO_CHROMIUM"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install "
                        "chromium) and sets STREAMZ_NO_CHROMIUM only when that fails")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def test_page_shows_speakers_from_the_fake_microphone(chromium, live_models, meeting,
                                                      tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from streamz_speaker.live.server import create_app

    wav = tmp_path / "mic.wav"                # Chromium loops this file as the microphone
    sf.write(wav, np.concatenate([meeting[:14 * 16000]]), 16000, subtype="PCM_16")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "live-page.png"
    with running_server(create_app(live_models)) as (host, port), \
            sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=FLAGS + [f"--use-file-for-fake-audio-capture={wav}"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            logs = []
            page.on("console", lambda m: logs.append(m.text))
            page.goto(f"http://{host}:{port}/")
            page.select_option("#num-speakers", "3")
            page.click("#start")
            page.wait_for_function("window.streamz.events >= 8", timeout=90_000)
            page.screenshot(path=str(shot))
            current = page.get_attribute("#current", "data-speaker")
            bars = page.locator(".bar").count()
            status = page.text_content("#status")
            page.click("#stop")
            page.wait_for_selector("#report[data-done='1']", timeout=60_000)
            report = page.text_content("#report")
            page.screenshot(path=str(ARTIFACTS / "live-page-report.png"))
        finally:
            browser.close()
    assert current in {"0", "1", "2"}, logs
    assert bars >= 1 and "Listening" in status and "16 kHz" in status
    assert "turns." in report and "Speaker" not in report.split("turns.")[1]
    assert shot.stat().st_size > 10_000
