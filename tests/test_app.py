"""The interactive page (sim/app.py): its model follows the controls, and in a real browser
moving a lever changes what is drawn.

The browser test needs Chromium and Playwright for Python:
``apt-get install -y chromium`` and ``pip install -e '.[dev]'``; it is slow and runs with
``python -m pytest -m slow tests/test_app.py`` (``CHROMIUM=/path/to/chromium`` for another
browser binary).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("solara")
from sim import app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def test_levers_act_on_top_of_the_experiment():
    cfg = app.load_config(["experiment=return_incentives"])
    values = app.lever_values(cfg, {"returnee_premium": 0.1, "img_positions": 0.5, "scholarship_budget": 1.0},
                              "waived")
    assert values["policy.returnee_premium"] == pytest.approx(0.3 + 0.1)
    assert values["policy.img_positions_multiplier"] == pytest.approx(0.5 * cfg.policy.img_positions_multiplier)
    assert values["policy.scholarship_budget_multiplier"] == cfg.policy.scholarship_budget_multiplier
    assert values["policy.home_return_requirement"] is False
    assert "policy.home_return_requirement" not in app.lever_values(cfg, {}, "as in the experiment")
    with pytest.raises(ValueError, match="home_return"):
        app.lever_values(cfg, {}, "sometimes")


def test_every_lever_is_a_policy_key_and_a_control_of_the_page():
    cfg = app.load_config([])
    params = app.model_params()
    for name, (key, *_rest) in app.LEVERS.items():
        assert hasattr(cfg.policy, key.split(".")[1]) and name in params
    assert {"origin", "experiment", "home_return"} <= set(params)
    assert set(params["origin"]["values"]) >= {"japan", "romania"}
    assert "training_reform" in params["experiment"]["values"]


def test_the_page_model_follows_its_controls():
    m = app.PolicyExplorer(origin="romania", experiment="training_reform", scale=0.02, years=3,
                           training_investment=0.01, home_return="waived")
    assert m.cfg.origin.name == "romania" and m.cfg.policy.name == "training_reform"
    assert m.cfg.policy.training_quality_investment == pytest.approx(0.02)
    assert m.cfg.policy.home_return_requirement is False
    m.run_model()
    rows = m.datacollector.get_model_vars_dataframe()
    assert len(rows) == 3 and rows["home_training_quality"].iloc[-1] > m.quality_start
    with pytest.raises(TypeError, match="unknown lever"):
        app.PolicyExplorer(scale=0.02, years=2, no_such_lever=1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_moving_a_lever_in_the_browser_changes_what_is_drawn(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("needs Chromium (apt-get install -y chromium)")
    port = _free_port()
    solara = Path(sys.executable).with_name("solara")
    server = subprocess.Popen([str(solara), "run", "sim/app.py", "--host", "127.0.0.1", "--port", str(port),
                               "--no-open", "--production"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stdout.read()
            time.sleep(1)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                tempfile.mkdtemp(dir=tmp_path), executable_path=browser_path, headless=True,
                viewport={"width": 1600, "height": 2000},
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = browser.new_page()
            page.set_default_timeout(240_000)
            page.goto(f"http://127.0.0.1:{port}/")
            summary = page.get_by_text("of 20):")
            summary.wait_for()

            def run_years(n: int) -> tuple[str, list[str]]:
                for k in range(n):
                    page.get_by_role("button", name="Step").click()
                    page.get_by_text(f"({k + 1} of 20)").wait_for()
                page.wait_for_timeout(1500)  # the plots redraw after the step
                images = [img.get_attribute("src") for img in page.locator("img").all()]
                return summary.inner_text(), images

            before_text, before_images = run_years(3)
            # no positions open to IMGs: nobody matches, so fewer are abroad; rebuild the model and run again
            slider = page.get_by_role("slider", name=app.LEVERS["img_positions"][-1], exact=True)
            slider.focus()
            slider.press("Home")
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("(0 of 20)").wait_for()
            after_text, after_images = run_years(3)
            browser.close()
        assert len(before_images) >= 3 and len(after_images) == len(before_images)
        assert "year 2027" in before_text and "year 2027" in after_text
        assert after_images != before_images, "moving a lever left every plot as it was"

        def abroad(text: str) -> float:
            return float(re.search(r", abroad ([\d.]+)%", text).group(1))

        assert abroad(after_text) < abroad(before_text), (before_text, after_text)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
