"""End to end in a real browser: the admin shows what a real worker and beat created.

Headless Chromium (Debian's chromium and chromium-driver) logs into the default
project's admin. Screenshots go to test-artifacts/ (or $TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import TEMPLATE_DIR, free_port, run, wait_for_page
from tooling.processes import background
from tooling.services import POSTGRES, redis_database

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", TEMPLATE_DIR / "test-artifacts"))
TIMEOUT = 90


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of the test's own, dropped afterwards."""
    name = f"cdc_browser_{uuid.uuid4().hex[:8]}"
    server = ["-h", "127.0.0.1", "-U", "postgres"]
    run(["createdb", *server, name], cwd=TEMPLATE_DIR)
    yield f"{POSTGRES}/{name}"
    run(["dropdb", *server, "--force", name], cwd=TEMPLATE_DIR)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def chromium(downloads: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # This machine has no network beyond loopback: switch off what would phone home.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={downloads}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def test_the_admin_shows_results_and_periodic_tasks_of_a_real_run(
    bake, project_python, tmp_path, postgres_database
) -> None:
    project = Path(shutil.copytree(bake(), tmp_path / "my_project"))
    python = project_python(project)
    with redis_database() as broker:
        environment = os.environ | {
            # What the project's .env sets; celery refuses to guess without it.
            "DJANGO_SETTINGS_MODULE": "my_project.settings.dev",
            "DATABASE_URL": postgres_database,
            "CELERY_BROKER_URL": broker,
            "DJANGO_SUPERUSER_PASSWORD": "browser-test-password",
        }

        def manage(*arguments: str) -> str:
            return run([python, "manage.py", *arguments], cwd=project, env=environment).stdout

        manage("migrate", "--no-input")
        manage("createsuperuser", "--no-input", "--username=admin", "--email=admin@example.com")
        celery = [python, "-m", "celery", "-A", "my_project"]
        with (
            background(
                [*celery, "worker", "-l", "INFO", "-c", "1"],
                project,
                environment,
                tmp_path / "worker.log",
            ),
            background(
                [*celery, "beat", "-l", "INFO"], project, environment, tmp_path / "beat.log"
            ),
        ):
            task_ids = manage(
                "shell",
                "-v0",
                "-c",
                "from base.tasks import add, xsum\n"
                "for result in (add.delay(2, 2), xsum.delay([1, 2, 3])):\n"
                "    result.get(timeout=60)\n"
                "    print(result.id)",
            ).split()
            wait_until(
                lambda: (
                    "heartbeat"
                    in manage(
                        "shell",
                        "-v0",
                        "-c",
                        "from django_celery_beat.models import PeriodicTask\n"
                        "print(*PeriodicTask.objects.values_list('name', flat=True))",
                    )
                ),
                "beat to write the schedule to the database",
            )

        site = f"http://127.0.0.1:{free_port()}"
        with background(
            [python, "manage.py", "runserver", site.removeprefix("http://"), "--noreload"],
            project,
            environment,
            tmp_path / "runserver.log",
        ) as server:
            wait_for_page(f"{site}/admin/login/", server, timeout=TIMEOUT)
            browser = chromium(tmp_path / "chromium")
            try:
                browser.get(f"{site}/admin/login/")
                browser.find_element(By.NAME, "username").send_keys("admin")
                browser.find_element(By.NAME, "password").send_keys("browser-test-password")
                browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
                wait_until(lambda: "Log out" in browser.page_source, "the login")

                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                browser.get(f"{site}/admin/django_celery_results/taskresult/")
                browser.save_screenshot(ARTIFACTS / "admin-task-results.png")
                results_page = browser.page_source
                browser.get(f"{site}/admin/django_celery_beat/periodictask/")
                browser.save_screenshot(ARTIFACTS / "admin-periodic-tasks.png")
                periodic_page = browser.page_source
            finally:
                browser.quit()

    assert len(task_ids) == 2
    for task_id in task_ids:
        assert task_id in results_page
    for name in ("heartbeat", "clear-expired-sessions", "dev-add-every-30-seconds"):
        assert name in periodic_page
