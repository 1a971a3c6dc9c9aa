"""The report in a real browser: headless Chromium renders it, without console errors, with every
figure laid out at a non-zero size, and a screenshot that is not blank.

Chromium missing: the tests are skipped with the reason, except under ``CI=true``, where a
missing browser fails the run (``.ci/run`` installs Debian's ``chromium`` before ``make test``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image
from test_report import CONTOSO, FIGURES, make_results

from sim.model.scenario import load_scenario
from sim.outputs.report import build_report

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser(ci: str | None) -> None:
    """Skip with the reason, or fail under ``CI=true``: a CI run must render the report."""
    reason = (
        "Chromium not found (tried " + ", ".join(CANDIDATES) + "): install Debian's"
        " chromium package to render the report in a browser"
    )
    if ci == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        missing_browser(os.environ.get("CI"))
    assert found is not None
    return found


def test_a_missing_browser_skips_except_under_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        missing_browser(None)
    with pytest.raises(pytest.fail.Exception, match="CI=true and Chromium not found"):
        missing_browser("true")


def headless(browser: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium headless on ``url`` with a fresh profile, no network services, console
    messages logged to stderr."""
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    """The page's console messages (errors, uncaught exceptions, CSP refusals) in the log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_results(tmp_path_factory.mktemp("browser") / "contoso", load_scenario(CONTOSO))
    return build_report(root)


def test_the_console_check_catches_a_script_error(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom')</script>")
    done = headless(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert any("boom" in line for line in console_lines(done.stderr)), done.stderr[-2000:]


def test_report_renders_without_errors_and_sizes_every_figure(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    done = headless(
        chromium, tmp_path / "profile", report.as_uri(), "--window-size=1280,2000", "--dump-dom"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_lines(done.stderr) == []
    dom = done.stdout
    assert "data-errors=" not in dom
    count = re.search(r'data-figure-count="(\d+)"', dom)
    sizes = re.search(r'data-figure-sizes="([^"]*)"', dom)
    assert count and sizes, "the report's size script did not run"
    assert int(count.group(1)) == len(FIGURES)
    for size in sizes.group(1).split():
        width, height = (int(v) for v in size.split("x"))
        assert width > 300 and height > 150, sizes.group(1)


def test_screenshot_is_not_blank(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = headless(
        chromium,
        tmp_path / "profile",
        report.as_uri(),
        "--window-size=1280,2400",
        f"--screenshot={shot}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_lines(done.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = np.asarray(image.imread(shot))[:, :, :3]
    assert pixels.shape[:2] == (2400, 1280)
    background = np.array([0xF6, 0xF7, 0xF9]) / 255.0
    differs = np.abs(pixels - background).max(axis=2) > 0.02
    assert differs.mean() > 0.3  # cards, tables and figures cover the page
    rgb = (pixels * 255).round().astype(np.int64).reshape(-1, 3)
    colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
    assert colours.size > 200  # text, badges, bars: not a flat page
    dark = (pixels.max(axis=2) < 0.3).mean()
    assert 0.005 < dark < 0.5  # text is there, and the page is not black
