"""Progress in logs: one plain line per epoch when stderr is not a terminal."""

from __future__ import annotations

import pytest

from relgraph.jobs.progress import ProgressBar


def _state(epochs: int, stage: str = "train") -> dict:
    return {"kind": "training", "stage": stage, "total_trials": 2, "current_trial": 0,
            "tune_metric": "auroc",
            "trials": {"0": {"max_epochs": 3, "epochs": [
                {"epoch": e, "train_loss": 1.0 / (e + 1), "val": {"auroc": 0.6 + e / 100}}
                for e in range(epochs)]}}}


def test_one_line_per_epoch_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar("trainingjob-x")  # capsys: stderr is not a terminal
    assert bar.lines
    for epochs in (0, 1, 1, 2, 3):  # a repeated state prints nothing new
        bar.render(_state(epochs))
    bar.render(_state(3, "evaluate"))
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 5, lines
    assert lines[2] == "trial=1/2 epochs 2/6 epoch=1 train_loss=0.5000 val_auroc=0.6100"
    assert lines[-1].startswith("trial=1/2 [evaluate] epochs 3/6")


def test_prediction_lines_and_disable(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar("bp-job-x")
    for done in (0, 1, 2, 2):
        bar.render({"kind": "batch_prediction", "stage": "predict", "total_iterations": 2,
                    "completed_iterations": done})
    assert capsys.readouterr().err.strip().splitlines() == [
        "bp-job-x [predict] shards 0/2", "bp-job-x [predict] shards 1/2",
        "bp-job-x [predict] shards 2/2"]
    quiet = ProgressBar("bp-job-y", disable=True)
    quiet.render({"kind": "batch_prediction", "stage": "predict", "total_iterations": 1,
                  "completed_iterations": 1})
    assert capsys.readouterr().err == ""
