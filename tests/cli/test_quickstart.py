"""``relgraph quickstart``: the model beside its baselines, plain log lines, its cost."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from relgraph.cli.quickstart import comparison


def test_comparison_table_and_verdict() -> None:
    text = comparison({"mae": 0.46, "rmse": 1.28, "r2": 0.58},
                      {"mean": {"mae": 1.19, "rmse": 1.97, "r2": 0.0},
                       "lightgbm_aggregated": {"mae": 0.48, "rmse": 1.33, "r2": 0.55}},
                      ("mae", "rmse", "r2"))
    lines = text.splitlines()
    assert lines[0].split() == ["mae", "rmse", "r2"]
    assert lines[1].startswith("relgraph (GNN + GBDT)") and lines[1].split()[-3:] == [
        "0.4600", "1.2800", "0.5800"]
    assert lines[-1] == ("relgraph beats the best baseline (LightGBM, aggregated flights) on "
                         "mae by +0.0200 (4.2%).")
    worse = comparison({"auroc": 0.7}, {"majority": {"auroc": 0.5},
                                        "lightgbm_entity": {"auroc": 0.75}})
    assert worse.splitlines()[-1].startswith("relgraph does not beat the best baseline "
                                             "(LightGBM, plane columns) on auroc by -0.0500")


@pytest.mark.slow
def test_quickstart_beats_every_baseline_in_plain_lines(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "relgraph.cli.main", "quickstart"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "\r" not in out  # not a terminal: one line per epoch, no carriage-return frames
    assert len(re.findall(r"^trial=1/1 epochs \d/3 epoch=\d", out, re.M)) == 3
    rows = {}
    for label in ("relgraph (GNN + GBDT)", "training mean", "LightGBM, plane columns",
                  "LightGBM, aggregated flights"):
        line = next(x for x in out.splitlines() if x.startswith(label))
        rows[label] = [float(v) for v in line[len(label):].split()]  # mae, rmse, r2
    model = rows.pop("relgraph (GNN + GBDT)")
    for label, (mae, rmse, r2) in rows.items():
        assert model[0] < mae and model[1] < rmse and model[2] > r2, (label, model)
    assert model[2] > 0.5  # the old quickstart's R2 was -0.23
    assert "relgraph beats the best baseline" in out
    assert (tmp_path / "relgraph-output" / "plane_jfk_flights_predictions.parquet").is_file()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 120, f"the quickstart used {cpu:.0f} CPU seconds"  # ~47 s measured
