"""The HTML report in a real headless browser (Debian's chromium)."""

import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium; "
                             "locally: apt-get install -y chromium)")


def _chromium(tmp_path, *args):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_browser_renders_tables_and_every_figure(report_dir, evaluation, tmp_path):
    url = (report_dir / "report.html").resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    metrics_table = re.search(r'<table id="metrics">(.*?)</table>', dom, re.S).group(1)
    assert metrics_table.count("<tr") == len(evaluation.metrics) + 1
    assert "<td class=\"verdict\">differs</td>" in metrics_table
    n_figures = dom.count("<figure")
    loaded = re.search(r'data-figures-loaded="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load script did not run"
    assert int(loaded.group(1)) == int(loaded.group(2)) == n_figures == 7
    shot = tmp_path / "page.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert shot.read_bytes()[:4] == b"\x89PNG"
