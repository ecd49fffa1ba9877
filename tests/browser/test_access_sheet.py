"""A student's access sheet prints on one A4 page in real headless Chromium (Debian's
chromium, its own --print-to-pdf), in English and Chinese, with nothing cut off."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labgen.classroom.layout import Classroom
from labgen.classroom.sheets import sheet_html

CHROMIUM = os.environ.get("LABGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM or not shutil.which("pdfinfo") or not shutil.which("pdftotext"):
    pytest.skip("needs chromium and poppler-utils (apt-get install chromium poppler-utils)", allow_module_level=True)


def print_pdf(html_path: Path, pdf: Path, profile: Path) -> None:
    args = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        html_path.as_uri(),
    ]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
    subprocess.run(args, capture_output=True, timeout=120, check=True)


@pytest.mark.parametrize("nodes", [2, 6])
def test_sheet_prints_on_one_a4_page(tmp_path, nodes):
    c = Classroom(
        name="cr1",
        lab="mesos-calico",
        seats=12,
        pool=ipaddress.IPv4Network("10.56.0.0/18"),
        provider="lxc",
        ssh_port=2222,
        ssh_address="203.0.113.10",
        path=tmp_path,
    )
    rows = [(f"ubuntu-{i}", f"10.56.12.{100 + i}") for i in range(1, nodes + 1)]
    page = tmp_path / "sheet.html"
    page.write_text(sheet_html(c, 12, "mesos-calico", rows), encoding="utf-8")
    pdf = tmp_path / "sheet.pdf"
    print_pdf(page, pdf, tmp_path / "profile")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info and "(A4)" in info, info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for want in (
        "Seat 12",
        "座位 12",
        "How to log in",
        "如何登录",
        f"ubuntu-{nodes}",
        f"10.56.12.{100 + nodes}",
        "203.0.113.10:2222",
        "cr1-s12",
        "chmod 600 id_ed25519",
    ):
        assert want in text, want
