"""GraphiQL in a real headless Chromium (Debian's chromium and chromium-driver, driven with Selenium over
WebDriver): the page loads from the server alone — every request it makes goes to the server, names
other than localhost do not resolve —, its first introspection carries the development token of the
default role, and the example operation runs and shows data. Skipped, with the reason, without the
browser (`.ci/run` installs it).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.auth import TokenVerifier
from api.devkeys import DEV_ISSUER
from api.graphiql import examples
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from persistence.seed import seed_city
from tests.conftest import SEED, SEED_TODAY
from tests.node_support import serving

pytestmark = [
    pytest.mark.db,
    # trio (under selenium) registers its random generator with hypothesis in a way hypothesis warns about
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning"),
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # the network is off: no name but localhost resolves (the server is reached by its IP)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)
NOT_NETWORK = frozenset({"chrome", "chrome-untrusted", "devtools", "data"})  # the browser's own, inline
WAIT_SECONDS = 60  # an upper bound for the page to get somewhere, not a speed requirement


def browser_or_skip() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
        )
    return chromium, driver


@pytest.fixture
def chromium() -> Iterator[Any]:
    binary, driver_path = browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kaigo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _requests(driver: Any) -> list[dict[str, Any]]:
    """The requests the browser made (DevTools ``Network.requestWillBeSent``, in order), less those that
    reach no network (its own ``chrome://`` pages, such as the new tab it starts with; ``data:``)."""
    sent = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            request = message["params"]["request"]
            if urlsplit(request["url"]).scheme not in NOT_NETWORK:
                sent.append(request)
    return sent


async def test_graphiql_loads_offline_and_runs_the_example(
    chromium: Any, empty_database_url: str, vault: NumberVault, dev_keys: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    engine = make_engine(empty_database_url, pool_size=1)
    try:
        await seed_city(engine, vault, insured=60, seed=SEED, today=SEED_TODAY)
    finally:
        await engine.dispose()
    verifier = TokenVerifier(
        jwks=str(dev_keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )
    runtime = Runtime(
        Database(make_engine(empty_database_url, pool_size=2)), vault, verifier, dev_tokens=dev_keys
    )
    default = examples()[0]
    with serving(create_app(runtime)) as url:
        chromium.get(url)
        wait = WebDriverWait(chromium, WAIT_SECONDS)
        # GraphiQL opens with the default role's example once its token is minted and the schema is read
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))
        editor = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"
        wait.until(lambda d: d.execute_script(f"return {editor}") == default.query)
        chromium.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        result = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
        wait.until(lambda d: '"data"' in (d.execute_script(f"return {result}") or ""))
        shown = json.loads(chromium.execute_script(f"return {result}"))
        sent = _requests(chromium)
        # another role: its token, its view introspected again, its example
        Select(chromium.find_element(By.ID, "kaigo-role")).select_by_value("system_operator")
        operator = next(e for e in examples() if e.role == "system_operator")
        wait.until(lambda d: d.execute_script(f"return {editor}") == operator.query)
        chromium.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        wait.until(lambda d: "dev-system_operator" in (d.execute_script(f"return {result}") or ""))
        switched = _requests(chromium)
        console = chromium.get_log("browser")

    assert "errors" not in shown
    persons = shown["data"]["persons"]["edges"]
    assert persons and all(edge["node"]["nameKana"].startswith("ア") for edge in persons)

    origin = urlsplit(url)
    assert sent and all(urlsplit(r["url"])[:2] == origin[:2] for r in sent), [r["url"] for r in sent]
    operations = [r for r in sent if urlsplit(r["url"]).path == "/graphql" and r["method"] == "POST"]
    first = operations[0]
    assert "__schema" in first["postData"]  # the first operation is the introspection …
    assert first["headers"]["Authorization"].startswith("Bearer ")  # … with the development token
    assert all(r["headers"].get("Authorization") == first["headers"]["Authorization"] for r in operations)
    again = [r for r in switched if urlsplit(r["url"]).path == "/graphql" and r["method"] == "POST"]
    assert "__schema" in again[0]["postData"]
    assert again[0]["headers"]["Authorization"] not in ("", first["headers"]["Authorization"])

    assert [line for line in console if line["level"] == "SEVERE"] == []  # no CSP refusal, no failed load
