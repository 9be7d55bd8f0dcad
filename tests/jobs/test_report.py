"""The HTML report of a training job."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relgraph.jobs.report import build_report, write_report

CURVE_RGB = (0x1F, 0x77, 0xB4)  # first palette color: trial 1's learning curve


def fake_job(folder: Path, task_type: str = "binary_classification") -> Path:
    """A job folder with the artifacts the report reads (no training needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    history = [{"epoch": e, "train_loss": 1.0 / e, "seconds": 0.1,
                "val": {"auroc": 0.5 + 0.05 * e, "mae": 3.0 - 0.2 * e}} for e in range(1, 9)]
    tune = "auroc" if task_type == "binary_classification" else "mae"
    meta = {"job_id": "job-x", "task_type": task_type, "entity_table": "customers",
            "tune_metric": tune, "row_counts": {"train": 80, "val": 10, "test": 10},
            "metrics": {"test": {tune: 0.8}, "validation": {tune: 0.85}},
            "best_settings": {"channels": 64}, "seconds": 12.5,
            "trials": [{"trial": 0, "history": history, "val_metrics": {tune: 0.9},
                        "best_epoch": 8, "pruned": False, "seconds": 1.0}]}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "plan.json").write_text('{"optimization": {"max_epochs": 8}}')
    rng = np.random.default_rng(0)
    if task_type == "binary_classification":
        prob = rng.random(30)
        hold = pd.DataFrame({"ENTITY": range(30), "TARGET": prob + rng.normal(0, .3, 30) > .5,
                             "TARGET_PRED": prob > .5, "FALSE_PROB": 1 - prob,
                             "TRUE_PROB": prob})
    else:
        y = rng.normal(size=30)
        hold = pd.DataFrame({"ENTITY": range(30), "TARGET": y,
                             "TARGET_PRED": y + rng.normal(0, .5, 30)})
    hold.to_parquet(folder / "holdout.parquet")
    return folder


def with_explanations(folder: Path) -> Path:
    """Add the explanations artifact a training job writes (issue 19)."""
    cols = [{"table": "events", "column": "signal", "importance": 0.35, "std": 0.02},
            {"table": "users", "column": "a", "importance": 0.05, "std": 0.01},
            {"table": "users", "column": "noise", "importance": 0.0, "std": 0.004}]
    tables = [{"table": "events", "importance": 0.3, "std": 0.03},
              {"table": "users", "importance": 0.05, "std": 0.01}]
    (folder / "explanations.json").write_text(json.dumps({
        "columns": cols, "tables": tables, "measure": "auroc", "base_score": 0.9,
        "num_rows": 60, "repeats": 3, "seconds": 1.0}))
    return folder


def test_report_contents(tmp_path: Path) -> None:
    html = build_report(fake_job(tmp_path / "a"), "job-x", {"query": "PREDICT x <b>"})
    assert html.count("class='chart learning-curve'") == 2
    assert "<polyline class='curve'" in html
    assert "ROC curve (test)" in html and "Precision-recall (test)" in html
    assert "Largest errors (test)" in html and "&lt;b&gt;" in html  # escaped query
    assert "<script" not in html
    reg = build_report(fake_job(tmp_path / "b", "regression"), "job-y")
    assert "Residuals (test)" in reg and "ABS_ERROR" in reg
    path = write_report(tmp_path / "a", "job-x")
    assert path.name == "report.html" and path.read_text().startswith("<!DOCTYPE html>")
    assert "No explanations" in html
    explained = build_report(with_explanations(tmp_path / "a"), "job-x")
    assert explained.count("class='chart importance'") == 2     # columns, tables
    assert explained.count("src='data:image/png;base64,") == 2  # drawn by matplotlib
    assert "validation auroc drops" in explained and "<script" not in explained


def read_png(path: Path) -> tuple[int, int, np.ndarray]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into an array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = width * channels
    img = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        f, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        cur = line.astype(np.int32)
        if f == 1:
            for x in range(channels, stride):
                cur[x] = (cur[x] + cur[x - channels]) & 255
        elif f == 2:
            cur = (cur + prev) & 255
        elif f == 3:
            for x in range(stride):
                left = cur[x - channels] if x >= channels else 0
                cur[x] = (cur[x] + (left + prev[x]) // 2) & 255
        elif f == 4:
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b, c = prev[x], prev[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + pred) & 255
        img[y], prev = cur, cur
    return width, height, img.reshape(height, width, channels)[:, :, :3]


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    report = write_report(fake_job(tmp_path / "job"), "job-x")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1200,900", f"--screenshot={shot}",
                    report.as_uri()], capture_output=True, timeout=120, check=True)
    width, height, img = read_png(shot)
    assert (width, height) == (1200, 900)
    # the learning curves sit in the upper part of the page: trial 1's line is drawn there
    top = img[: height // 2]
    curve = np.all(np.abs(top - np.array(CURVE_RGB)) <= 12, axis=-1)
    assert curve.sum() > 300, f"only {curve.sum()} curve-coloured pixels"
    rows = np.nonzero(curve.any(axis=1))[0]
    assert rows.max() - rows.min() > 100  # a curve spanning the chart, not just a legend


IMPORTANCE_RGB = (0x2C, 0xA0, 0x2C)  # the importance bars' color (PALETTE[2])


@pytest.mark.slow
def test_report_explanations_render_in_headless_chromium(tmp_path: Path) -> None:
    """The explanation section draws two bar charts (columns, tables) whose bars are
    longest for the most important entries."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    folder = with_explanations(fake_job(tmp_path / "job"))
    from relgraph.jobs.report import explanation_section

    page = folder / "section.html"
    page.write_text("<!DOCTYPE html><html><body style='margin:0'>"
                    f"{explanation_section(folder)}</body></html>")
    shot = tmp_path / "section.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1000,900", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    width, _, img = read_png(shot)
    bars = np.all(np.abs(img - np.array(IMPORTANCE_RGB)) <= 12, axis=-1)
    assert bars.sum() > 2000, f"only {bars.sum()} bar-coloured pixels"
    rows = np.nonzero(bars.any(axis=1))[0]
    groups = np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1)   # one per bar
    assert len(groups) == 4, [len(g) for g in groups]   # 2 + 2 bars (noise: length 0)
    lengths = [int(bars[g].any(axis=0).sum()) for g in groups]
    assert lengths[0] > 3 * lengths[1]   # events.signal's bar dwarfs users.a's
    assert lengths[2] > 3 * lengths[3]   # events' bar dwarfs users'
    assert width == 1000
