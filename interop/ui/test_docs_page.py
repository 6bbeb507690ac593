"""`lumen serve --model`'s /docs page in headless Chromium (Debian's chromium and chromium-driver) driven by Selenium:
it loads with no request beyond the server (the browser resolves no other host, as offline), shows the info line with
Lumen's version, groups every operation of /openapi.json under its tag, the filter box narrows the list to the traffic
routes, a click opens an operation's parameters, and the console logs no error. A screenshot is saved under the test's
tmp_path. A missing chromium, chromedriver or selenium fails the test (interop/run.sh installs them)."""
import json, shutil, sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

# test_serving sits one folder up: pytest puts interop/ on sys.path through its conftest.py; this covers a run of this file alone
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_serving import served  # noqa: E402,F401  (served: phantom@champion behind `lumen serve`, this module's own)

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # the screenshot is copied there only when the folder exists
TRAFFIC = {"GET /api/models/{name}/traffic", "PUT /api/models/{name}/traffic", "DELETE /api/models/{name}/traffic"}


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not on PATH: install Debian's chromium and chromium-driver (interop/run.sh does)"
    return path


@pytest.fixture()
def browser(tmp_path):
    options = Options()
    options.binary_location = tool("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1400",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
                # offline: every host but the loopback server fails to resolve, so an external resource could not load
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=tool("chromedriver"), log_output=str(tmp_path / "chromedriver.log")))
    try:
        yield driver
    finally:
        driver.quit()


GROUPS = """
const groups = []; let current = null;
for (const el of document.getElementById('ops').children) {
  if (el.tagName === 'H2') { current = {tag: el.textContent, ops: []}; groups.push(current); continue; }
  current.ops.push(el.querySelector('summary .m').textContent + ' ' + el.dataset.path);
}
return groups;"""


def shown(driver):
    """{tag: [operation, …]} in the page's order, operations as 'METHOD path'."""
    return {g["tag"]: g["ops"] for g in driver.execute_script(GROUPS)}


def operation(driver, method, path):
    matches = [d for d in driver.find_elements(By.CSS_SELECTOR, "details.op")
               if d.get_attribute("data-path") == path and d.find_element(By.CSS_SELECTOR, "summary .m").text == method]
    assert len(matches) == 1, (method, path, len(matches))
    return matches[0]


def open_operation(driver, method, path):
    """Clicks the operation's summary; returns its details element once open, with the parameters as shown."""
    details = operation(driver, method, path)
    summary = details.find_element(By.TAG_NAME, "summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", details)
    summary.click()
    WebDriverWait(driver, 10).until(lambda _: details.get_attribute("open") is not None)
    body = details.find_element(By.CSS_SELECTOR, ".body")
    assert body.is_displayed(), (method, path)
    return details, [li.text for li in body.find_elements(By.CSS_SELECTOR, "ul li")]


def test_docs_page_renders_offline(served, browser, tmp_path):
    url = served["url"]
    doc = requests.get(url + "/openapi.json", timeout=30).json()
    version = requests.get(url + "/version", timeout=10).text.strip()
    browser.get("about:blank")
    browser.get_log("performance")  # drains what the browser's own start-up page requested (chrome:// resources)
    browser.get(url + "/docs")
    info = browser.find_element(By.ID, "info")
    WebDriverWait(browser, 30).until(lambda _: "(version " in info.text or "cannot load" in info.text)
    assert browser.title == "Lumen API"
    assert info.text == f"{doc['info']['description']} (version {version}, OpenAPI 3.1.0)", info.text

    # every operation of the document, under its tag, the tags in the document's order
    expected = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            expected.setdefault(op["tags"][0], set()).add(f"{method.upper()} {path}")
    groups = shown(browser)
    assert list(groups) == [t["name"] for t in doc["tags"] if t["name"] in expected], list(groups)
    assert {tag: set(ops) for tag, ops in groups.items()} == expected
    assert all(len(ops) == len(set(ops)) for ops in groups.values()), groups
    for method, path, tag in (("POST", "/v2/models/{name}/infer", "inference"), ("POST", "/api/predict/{name}", "inference")):
        element = operation(browser, method, path)
        assert element.is_displayed() and f"{method} {path}" in groups[tag], (method, path, groups.get(tag))
    # the tag headings are capitalised by the page's style
    assert [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#ops h2")][:2] == ["Inference", "Models"]

    # the filter box: "traffic" leaves the three traffic routes, under their tag
    box = browser.find_element(By.ID, "q")
    box.send_keys("traffic")
    WebDriverWait(browser, 10).until(lambda d: sum(map(len, shown(d).values())) == len(TRAFFIC))
    assert {tag: set(ops) for tag, ops in shown(browser).items()} == {"models": TRAFFIC}
    details, params = open_operation(browser, "PUT", "/api/models/{name}/traffic")
    assert params == ["name (path) name"], params
    assert "Request body" in details.text and "#/components/schemas/TrafficPolicy" in details.text, details.text

    # cleared, every operation is back; the upload route's details list its path and query parameters
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    total = sum(map(len, expected.values()))
    WebDriverWait(browser, 10).until(lambda d: sum(map(len, shown(d).values())) == total)
    details, params = open_operation(browser, "POST", "/api/predict/{name}")
    assert [p.split(" ")[:2] for p in params] == [["name", "(path)"], ["version", "(query)"], ["explain", "(query)"], ["filename", "(query)"]], params
    assert "multipart/form-data" in details.text and "#/components/schemas/PredictAnswer" in details.text, details.text

    browser.execute_script("window.scrollTo(0, 0)")  # the header, the filter box and the open upload route
    screenshot = tmp_path / "docs.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    print(f"screenshot of /docs: {screenshot}")
    if SCREENSHOTS.is_dir():
        shutil.copyfile(screenshot, SCREENSHOTS / "docs.png")
        print(f"copied to {SCREENSHOTS / 'docs.png'}")

    # nothing was requested beyond the server itself, nothing failed to load, and the console has no error
    events = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    requested = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    origin = urlsplit(url)
    foreign = [u for u in requested if not u.startswith(("data:", "blob:", "about:")) and urlsplit(u)[:2] != origin[:2]]
    assert not foreign, foreign
    assert {urlsplit(u).path for u in requested} >= {"/docs", "/openapi.json"}, requested
    failed = [e["params"] for e in events if e["method"] == "Network.loadingFailed"]
    assert not failed, failed
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
