"""The HTML report of a training job: learning curves, winning plan, metrics, column and
table importance, ROC/PR or residual plots and the largest errors.

Self-contained (inline SVG and PNG, no scripts, no external files), so it opens anywhere and
renders the same in any browser. Written into the job folder as ``report.html``. The
importance bar charts are drawn with matplotlib (its object API, no global state).
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f")
W, H, PAD = 520, 300, 48


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.4f}"
    return "-" if v is None else html.escape(str(v))


def svg_line_chart(series: Sequence[tuple[str, Sequence[Any], Sequence[Any]]], *,
                   title: str, xlabel: str, ylabel: str, diagonal: bool = False,
                   scatter: bool = False, css_class: str = "chart") -> str:
    """An SVG chart of ``(label, xs, ys)`` series (lines, or points with ``scatter``)."""
    pts = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys)
           if y is not None and not (isinstance(y, float) and math.isnan(y))]
    if not pts:
        return f"<p class='empty'>{html.escape(title)}: no data.</p>"
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if diagonal:
        x0 = y0 = min(x0, y0)
        x1 = y1 = max(x1, y1)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD)

    def sy(y: float) -> float:
        return H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD)

    out = [f"<svg class='{css_class}' xmlns='http://www.w3.org/2000/svg' width='{W}' "
           f"height='{H}' viewBox='0 0 {W} {H}' role='img' aria-label='{html.escape(title)}'>",
           f"<text x='{W / 2}' y='18' text-anchor='middle' font-weight='bold'>"
           f"{html.escape(title)}</text>",
           f"<line x1='{PAD}' y1='{H - PAD}' x2='{W - PAD}' y2='{H - PAD}' stroke='#333'/>",
           f"<line x1='{PAD}' y1='{PAD}' x2='{PAD}' y2='{H - PAD}' stroke='#333'/>"]
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        xv = x0 + (x1 - x0) * i / 4
        out.append(f"<text x='{PAD - 4}' y='{sy(yv) + 4:.1f}' text-anchor='end' "
                   f"font-size='10'>{yv:.3g}</text>")
        out.append(f"<text x='{sx(xv):.1f}' y='{H - PAD + 14}' text-anchor='middle' "
                   f"font-size='10'>{xv:.3g}</text>")
        out.append(f"<line x1='{PAD}' y1='{sy(yv):.1f}' x2='{W - PAD}' y2='{sy(yv):.1f}' "
                   "stroke='#eee'/>")
    out.append(f"<text x='{W / 2}' y='{H - 8}' text-anchor='middle' font-size='11'>"
               f"{html.escape(xlabel)}</text>")
    out.append(f"<text x='12' y='{H / 2}' text-anchor='middle' font-size='11' "
               f"transform='rotate(-90 12 {H / 2})'>{html.escape(ylabel)}</text>")
    if diagonal:
        out.append(f"<line x1='{sx(x0):.1f}' y1='{sy(y0):.1f}' x2='{sx(x1):.1f}' "
                   f"y2='{sy(y1):.1f}' stroke='#aaa' stroke-dasharray='4 3'/>")
    for k, (label, xs, ys) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        good = [(x, y) for x, y in zip(xs, ys)
                if y is not None and not (isinstance(y, float) and math.isnan(y))]
        if scatter:
            out += [f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2.5' fill='{color}' "
                    "fill-opacity='0.6'/>" for x, y in good[:2000]]
        elif good:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
            out.append(f"<polyline class='curve' fill='none' stroke='{color}' "
                       f"stroke-width='2' points='{path}'/>")
            out += [f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{color}'/>"
                    for x, y in good if len(good) <= 60]
        out.append(f"<rect x='{W - PAD - 130}' y='{PAD + 14 * k - 9}' width='10' height='10' "
                   f"fill='{color}'/><text x='{W - PAD - 116}' y='{PAD + 14 * k}' "
                   f"font-size='11'>{html.escape(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def _table(df: pd.DataFrame, max_rows: int = 20) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
                   for row in df.head(max_rows).itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _roc_pr(y: np.ndarray, p: np.ndarray) -> tuple[str, str]:
    order = np.argsort(-p, kind="stable")
    y = y[order].astype(float)
    tps, fps = np.cumsum(y), np.cumsum(1 - y)
    pos, neg = max(y.sum(), 1.0), max((1 - y).sum(), 1.0)
    tpr, fpr = np.r_[0, tps / pos], np.r_[0, fps / neg]
    precision = tps / np.maximum(tps + fps, 1)
    roc = svg_line_chart([("ROC", fpr.tolist(), tpr.tolist())], title="ROC curve (test)",
                         xlabel="false positive rate", ylabel="true positive rate",
                         diagonal=True)
    pr = svg_line_chart([("PR", (tps / pos).tolist(), precision.tolist())],
                        title="Precision-recall (test)", xlabel="recall", ylabel="precision")
    return roc, pr


def _diagnostics(holdout: pd.DataFrame, task_type: str) -> tuple[str, str]:
    """(plots, largest errors table) for the holdout predictions."""
    if holdout.empty or "TARGET" not in holdout.columns:
        return "<p class='empty'>No test rows.</p>", ""
    keys = [c for c in ("ENTITY", "ANCHOR_TIMESTAMP") if c in holdout.columns]
    if task_type == "binary_classification" and "TRUE_PROB" in holdout.columns:
        y = holdout["TARGET"].astype(float).to_numpy()
        p = holdout["TRUE_PROB"].astype(float).to_numpy()
        roc, pr = _roc_pr(y, p)
        err = holdout[[*keys, "TARGET", "TRUE_PROB"]].assign(ERROR=np.abs(y - p))
        return roc + pr, _table(err.sort_values("ERROR", ascending=False))
    if "TARGET_PRED" in holdout.columns and pd.api.types.is_numeric_dtype(
            holdout["TARGET_PRED"]) and pd.api.types.is_numeric_dtype(holdout["TARGET"]):
        y = holdout["TARGET"].astype(float).to_numpy()
        p = holdout["TARGET_PRED"].astype(float).to_numpy()
        scatter = svg_line_chart([("test rows", p.tolist(), y.tolist())],
                                 title="Predicted vs actual (test)", xlabel="predicted",
                                 ylabel="actual", diagonal=True, scatter=True)
        resid = svg_line_chart([("residual", p.tolist(), (y - p).tolist())],
                               title="Residuals (test)", xlabel="predicted",
                               ylabel="actual - predicted", scatter=True)
        err = holdout[[*keys, "TARGET", "TARGET_PRED"]].assign(ABS_ERROR=np.abs(y - p))
        return scatter + resid, _table(err.sort_values("ABS_ERROR", ascending=False))
    if {"CLASS", "SCORE"} <= set(holdout.columns):
        top = holdout.sort_values("SCORE", ascending=False).drop_duplicates(keys)
        wrong = top[top["CLASS"].astype(str) != top["TARGET"].astype(str)]
        return "", _table(wrong.sort_values("SCORE", ascending=False))
    return "", _table(holdout)


#: Bars per importance chart, at most.
MAX_BARS = 15
IMPORTANCE_COLOR = PALETTE[2]


def bar_chart(labels: Sequence[str], values: Sequence[float], errors: Sequence[float], *,
              title: str, xlabel: str, css_class: str = "chart importance") -> str:
    """A horizontal bar chart (matplotlib) as an inline PNG ``<img>``."""
    import base64

    from matplotlib.figure import Figure

    labels, values, errors = list(labels)[:MAX_BARS], list(values)[:MAX_BARS], \
        list(errors)[:MAX_BARS]
    if not labels:
        return f"<p class='empty'>{html.escape(title)}: no data.</p>"
    fig = Figure(figsize=(6.4, 0.5 + 0.32 * len(labels) + 0.8), dpi=100)
    ax = fig.add_subplot()
    pos = np.arange(len(labels))[::-1]
    ax.barh(pos, values, xerr=errors, color=IMPORTANCE_COLOR, ecolor="#555", capsize=2)
    ax.set_yticks(pos, labels=labels, fontsize=9)
    ax.axvline(0.0, color="#333", linewidth=0.8)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode()
    return (f"<img class='{css_class}' alt='{html.escape(title)}' "
            f"src='data:image/png;base64,{data}'>")


def explanation_section(folder: Path) -> str:
    """Column and table importance charts of the job's ``explanations.json`` (or a note
    saying why there are none)."""
    if not (folder / "explanations.json").exists():
        return ("<p class='empty'>No explanations (the plan set disable_explain, or there "
                "was no validation split).</p>")
    data = json.loads(_read(folder, "explanations.json"))
    measure = str(data.get("measure", ""))
    xlabel = f"drop of validation {measure} when shuffled" if measure != "prediction_change" \
        else "mean change of the prediction when shuffled"
    cols = data.get("columns", [])
    tables = data.get("tables", [])
    charts = bar_chart([f"{c['table']}.{c['column']}" for c in cols],
                       [float(c["importance"]) for c in cols], [float(c["std"]) for c in cols],
                       title="Column importance (validation)", xlabel=xlabel)
    charts += bar_chart([str(t["table"]) for t in tables],
                        [float(t["importance"]) for t in tables],
                        [float(t["std"]) for t in tables],
                        title="Table importance (validation)", xlabel=xlabel)
    note = (f"<p>Permutation importance on {int(data.get('num_rows', 0))} validation rows "
            f"({int(data.get('repeats', 0))} shuffles per column): how much the model's "
            f"validation {html.escape(measure)} drops when a column's values, or all of a "
            "table's, are shuffled across rows. Per-entity explanations: "
            "<code>Trainer.explain(graph, entities)</code> or "
            "<code>relgraph explain JOB --entity ID</code>.</p>")
    return note + charts


def _read(folder: Path, name: str) -> bytes:
    """An artifact's bytes, checked against the folder's manifest once it has one (a job
    folder; the staging folder of a running job has none yet)."""
    from relgraph.integrity import MANIFEST, read_verified

    if (folder / MANIFEST).exists():
        return read_verified(folder, name)
    return (folder / name).read_bytes()


def build_report(folder: Path, job_id: str, request: dict[str, Any] | None = None) -> str:
    """The report of the finished training job whose artifacts are in ``folder``."""
    meta = json.loads(_read(folder, "meta.json"))
    request = request or {}
    task_type = str(meta.get("task_type"))
    tune = str(meta.get("tune_metric", ""))
    loss_series, val_series = [], []
    for trial in meta.get("trials", []):
        hist = trial.get("history", [])
        label = f"trial {int(trial['trial']) + 1}"
        loss_series.append((label, [h["epoch"] for h in hist],
                            [h.get("train_loss") for h in hist]))
        val_series.append((label, [h["epoch"] for h in hist],
                           [(h.get("val") or {}).get(tune) for h in hist]))
    curves = svg_line_chart(loss_series, title="Training loss per epoch", xlabel="epoch",
                            ylabel="train loss", css_class="chart learning-curve")
    curves += svg_line_chart(val_series, title=f"Validation {tune} per epoch",
                             xlabel="epoch", ylabel=f"val {tune}",
                             css_class="chart learning-curve")
    metrics = meta.get("metrics", {})
    names = sorted({k for split in metrics.values() for k in split})
    mt = pd.DataFrame([{"split": s, **{n: metrics[s].get(n) for n in names}}
                       for s in ("test", "validation", "training") if s in metrics])
    trials = pd.DataFrame([{"trial": int(t["trial"]) + 1, "best_epoch": t.get("best_epoch"),
                            f"val_{tune}": (t.get("val_metrics") or {}).get(tune),
                            "pruned": t.get("pruned"), "seconds": t.get("seconds")}
                           for t in meta.get("trials", [])])
    holdout_path = folder / "holdout.parquet"
    holdout = pd.read_parquet(io.BytesIO(_read(folder, "holdout.parquet"))) \
        if holdout_path.exists() else pd.DataFrame()
    plots, errors = _diagnostics(holdout, task_type)
    plan_path = folder / "plan.json"
    plan_text = _read(folder, "plan.json").decode() if plan_path.exists() else "{}"
    best = json.dumps(meta.get("best_settings", {}), indent=2, default=str)
    query = request.get("query")
    title = f"Training job {job_id}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
pre {{ background: #f6f6f6; padding: 8px; font-size: 12px; max-height: 360px;
       overflow: auto; }}
.chart {{ margin: 6px 12px 6px 0; border: 1px solid #ddd; vertical-align: top; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Task: <b>{html.escape(task_type)}</b> · entity table
<b>{html.escape(str(meta.get("entity_table")))}</b> · tune metric <b>{html.escape(tune)}</b>
· rows {html.escape(json.dumps(meta.get("row_counts", {})))}
· {float(meta.get("seconds", 0.0)):.1f}s</p>
{f"<p>Query: <code>{html.escape(query)}</code></p>" if query else ""}
<h2>Learning curves</h2>
<div id="learning-curves">{curves}</div>
<h2>Metrics of the selected model</h2>
{_table(mt)}
<h2>Explanations</h2>
<div id="explanations">{explanation_section(folder)}</div>
<h2>Trials</h2>
{_table(trials, 200)}
<h2>Test-set diagnostics</h2>
<div id="diagnostics">{plots}</div>
<h2>Largest errors (test)</h2>
{errors or "<p class='empty'>-</p>"}
<h2>Winning trial settings</h2>
<pre>{html.escape(best)}</pre>
<h2>Model plan</h2>
<pre>{html.escape(plan_text)}</pre>
</body></html>
"""


def write_report(folder: Path, job_id: str, request: dict[str, Any] | None = None) -> Path:
    """Write ``report.html`` into ``folder`` (atomically)."""
    import os
    import tempfile

    text = build_report(folder, job_id, request)
    path = folder / "report.html"
    fd, tmp = tempfile.mkstemp(prefix=".report.", dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
