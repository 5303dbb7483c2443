"""The chat page (`GET /` of `trm-tool serve --llm ...`) in a real headless browser: Debian's
chromium + chromium-driver driven by Selenium, against the real app on a free local port. The
agent's chat model is scripted (tests/test_chat_api.py): this test is about the page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.test_chat_api import ScriptedModel
from tests.test_server import running, sudoku_texts
from trm_tool.chat_api import ChatService
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import SolverPool

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHARED_SCREENSHOT = Path("/tmp/trm_coord/chat_page.png")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
    "chromium-driver; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    torch.set_num_threads(1)
    pool = SolverPool(device="cpu", views=2, retry_views=0)
    app = create_app(pool, ServerSettings(api_key=None), ChatService(ScriptedModel(), pool))
    with running(app) as base:
        yield base


@pytest.fixture()
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-sync",
        "--disable-component-update",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,1500",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_pasted_sudoku_comes_back_drawn_and_verified(url: str, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    text = sudoku_texts(1, seed=21)[0]
    givens = sum(ch in "123456789" for ch in text)
    browser.get(url + "/")
    box = browser.find_element(By.ID, "input")
    assert browser.switch_to.active_element == box  # the page opens ready to type
    box.send_keys("Please solve this Sudoku:\n" + text)
    box.send_keys(Keys.CONTROL, Keys.ENTER)  # keyboard only
    WebDriverWait(browser, 120).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".msg.assistant[data-done='true']")
    )
    [question] = browser.find_elements(By.CSS_SELECTOR, ".msg.user .sudoku")
    [answer] = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant .sudoku")
    assert len(question.find_elements(By.TAG_NAME, "span")) == 81
    cells = answer.find_elements(By.TAG_NAME, "span")
    assert len(cells) == 81 and all(cell.text in "123456789" and cell.text for cell in cells)
    assert len(answer.find_elements(By.CSS_SELECTOR, "span.given")) == givens
    badge = browser.find_element(By.CSS_SELECTOR, ".msg.assistant .badge")
    assert "ok" in badge.get_attribute("class") and "verified" in badge.text
    steps = browser.find_element(By.CSS_SELECTOR, ".msg.assistant .steps").text
    assert "calling solve_sudoku" in steps
    shot = tmp_path / "chat_page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if SHARED_SCREENSHOT.parent.is_dir():
        shutil.copy(shot, SHARED_SCREENSHOT)

    browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
    overflow = browser.execute_script("return document.body.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_mazes_and_arc_grids_are_drawn(url: str, browser):
    """The drawing code on a maze answer and an ARC answer (input beside output), run in the
    page itself without a server round trip."""
    from selenium.webdriver.common.by import By

    browser.get(url + "/")
    maze = "######\n#SooG#\n######\nverified: yes"
    arc_question = "Example 1\nInput:\n0 1\n1 0\nOutput:\n1 0\n0 1\n\nTest input:\n2 0\n0 2"
    arc_answer = "Solution (arc):\n0 2\n2 0\nverified: n/a for arc (confidence 0.90)"
    browser.execute_script(
        "const m = addMessage('assistant'); render(m.body, arguments[0], 'assistant', '');"
        "const a = addMessage('assistant');"
        "render(a.body, arguments[2], 'assistant', arguments[1]);",
        maze,
        arc_question,
        arc_answer,
    )
    first, second = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")
    assert len(first.find_elements(By.CSS_SELECTOR, ".maze .wall")) == 14
    assert len(first.find_elements(By.CSS_SELECTOR, ".maze .route")) == 2
    assert [s.text for s in first.find_elements(By.CSS_SELECTOR, ".maze .start, .maze .goal")] == [
        "S",
        "G",
    ]
    captions = [c.text for c in second.find_elements(By.TAG_NAME, "figcaption")]
    assert captions == ["test input", "output"]
    assert len(second.find_elements(By.CSS_SELECTOR, ".arc span")) == 8
    assert "unverified" in second.find_element(By.CSS_SELECTOR, ".badge.na").text
