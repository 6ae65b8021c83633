"""The law-comparison report: one self-contained HTML file (figures embedded) or Markdown with a figure folder.

The document is written once, as Markdown; HTML is that Markdown converted by the
``markdown`` package, with figures and equations embedded as base64 PNG.
"""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import markdown
import pandas as pd
from matplotlib.figure import Figure

from . import comparison_plots as cplots
from .compare import K_THRESHOLD, Extrapolation, compare, named_fits, pareto_k, run_scales, validate_extrapolation
from .errors import ArgumentError, OverwriteError
from .fit import Fit
from .files import output_path, write_atomically

FORMATS = (".html", ".md")
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1250px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f1f3f5; } img { max-width: 100%; } code { background: #f4f4f4; padding: 1px 3px; }
.verdict { background: #eef6ee; border-left: 4px solid #3a7; padding: 0.4em 1em; }
"""


class _Figures:
    """Collects figures as PNG bytes under file names, for embedding or writing next to the document."""

    def __init__(self):
        self.files: dict[str, bytes] = {}

    def add(self, name: str, fig) -> str:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        self.files[f"{name}.png"] = buffer.getvalue()
        return f"{name}.png"


def _equation(latex: str, figures: _Figures, name: str) -> str:
    """A display equation: rendered by matplotlib's mathtext, with the LaTeX source beside it."""
    fig = Figure(figsize=(0.1, 0.1))
    fig.text(0, 0, f"${latex}$", fontsize=15)
    try:
        file = figures.add(f"equation-{name}", fig)
    except ValueError:  # mathtext does not know every LaTeX command; the source is shown anyway
        return f"`{latex}`"
    return f"![{name} equation]({file})\n\n`{latex}`"


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_markdown(index=index, floatfmt=".4g")


def _verdict(loo: pd.DataFrame, ext: Extrapolation, fits: dict[str, Fit]) -> list[str]:
    lines = []
    best, runner = loo.index[0], loo.index[1]
    lines.append(
        f"**PSIS-LOO prefers `{best}`**: elpd {loo.loc[runner, 'elpd_diff']:.1f} ± {loo.loc[runner, 'dse']:.1f} (dse) above "
        f"`{runner}`; stacking weight {loo.loc[best, 'weight']:.2f}."
    )
    top = ext.table.index[0]
    row = ext.table.loc[top]
    lines.append(
        f"**Extrapolation prefers `{top}`**: refitted on the runs with {ext.by} ≤ {ext.threshold:.3g} and scored on the "
        f"{int(row['n'])} larger ones, its 90% interval covered {round(row['coverage_90'] * row['n'])} of {int(row['n'])} "
        f"(median error {row['median_rel_error']:.2%}, median 90% width {row['width_90']:.2%} of the prediction)."
    )
    if top != best:
        lines.append(f"The two criteria disagree: `{best}` fits runs like the fitted ones best, `{top}` extrapolates best. Trust `{top}` far beyond the data.")
    for name, row in ext.table.iterrows():
        if name != top:
            lines.append(f"`{name}`: 90% interval covered {round(row['coverage_90'] * row['n'])} of {int(row['n'])} held-out runs, median error {row['median_rel_error']:.2%}.")
    for name, fit in fits.items():
        if not fit.diagnostics.ok:
            lines.append(f"⚠ `{name}` did not sample cleanly: {'; '.join(fit.diagnostics.problems)}.")
    for name, row in loo.iterrows():
        if row["bad_k"] and not row["refitted"]:
            lines.append(f"⚠ `{name}`: {row['bad_k']} runs have Pareto k > 0.7, so its LOO estimate is unreliable; rerun with reloo=True (CLI `--reloo`).")
    return lines


def _data_section(fits: dict[str, Fit], scales: pd.DataFrame) -> list[str]:
    fit = next(iter(fits.values()))
    ranges = pd.DataFrame({c: [scales[c].min(), scales[c].max()] for c in scales}, index=["min", "max"])
    groups = {f.spec.group for f in fits.values() if f.spec.group}
    scale = "on its log" if fit.spec.family.log_target else "on the target itself"
    lines = [f"{len(fit.runs)} runs; target `{fit.law.target}` (likelihood {scale})."]
    for group in sorted(groups):
        names = next(f.groups for f in fits.values() if f.spec.group == group)
        lines.append(f"Groups `{group}`: {', '.join(names)}.")
    return lines + ["", _table(ranges)]


def _law_section(name: str, fit: Fit, pareto: pd.DataFrame, figures: _Figures, ci_prob: float) -> list[str]:
    law = fit.law
    priors = pd.DataFrame({"prior": {p: str(v.prior) for p, v in law.parameters.items()}, "meaning": {p: v.meaning for p, v in law.parameters.items()}})
    pooled = ", ".join(f"{p} by `{g}`" for p, g in fit.spec.pool.items()) or "none"
    high = pareto[pareto["pareto_k"] > K_THRESHOLD]
    lines = [
        f"### `{name}` — {law.title}",
        law.citation,
        "",
        _equation(law.latex, figures, name),
        "",
        f"Likelihood: {fit.spec.family.describe(law.target)}; pooled: {pooled}; sampling: {fit.diagnostics}".replace("\n", " "),
        "",
        "Priors:",
        "",
        _table(priors),
        "",
        f"Posterior ({ci_prob:.0%} central intervals):",
        "",
        _table(fit.summary(ci_prob=ci_prob)),
        "",
    ]
    if len(high):
        lines += [f"Runs with Pareto k > {K_THRESHOLD} ({len(high)}):", "", _table(high.head(20), index=False), ""]
    return lines


def build_markdown(
    fits: Mapping[str, Fit] | list[Fit],
    *,
    by: str | None = None,
    holdout: float = 0.2,
    reloo: bool = False,
    ci_prob: float = 0.9,
    random_seed: int | None = 0,
    extrapolation: Extrapolation | None = None,
    executor: Any = None,
) -> tuple[str, dict[str, bytes]]:
    """The report as Markdown text and its figures (PNG bytes by file name); ``extrapolation`` reuses a validation already run."""
    from . import __version__

    fits = named_fits(fits)
    scales = run_scales(fits)
    loo = compare(fits, reloo=reloo)
    ext = extrapolation or validate_extrapolation(fits, by=by, holdout=holdout, random_seed=random_seed, executor=executor)
    by = ext.by
    pareto = {name: pareto_k(fit) for name, fit in fits.items()}
    predictions = {name: fit.predict(fit.runs, ci_prob=ci_prob, random_seed=random_seed) for name, fit in fits.items()}
    scale = scales[by].rename(f"{by}")
    figures = _Figures()
    today = datetime.date.today().isoformat()
    lines = [
        "# Scaling-law comparison",
        f"bayescale {__version__}, {today}. Laws: {', '.join(f'`{n}`' for n in fits)}.",
        "",
        "## Verdict",
        "",
        *[f"- {line}" for line in _verdict(loo, ext, fits)],
        "",
        "## Data",
        "",
        *_data_section(fits, scales),
        "",
        "## Ranking by PSIS-LOO",
        "elpd: expected log predictive density of a left-out run (higher is better); dse: standard error of the difference to the best; "
        "weight: stacking; bad_k: runs whose Pareto k > 0.7.",
        "",
        _table(loo),
        "",
        f"## Ranking by extrapolation (refit on {by} ≤ {ext.threshold:.3g}, score the {int(ext.held_out.sum())} largest runs)",
        "elpd: sum of log predictive densities of the held-out runs; crps: mean continuous ranked probability score (lower is better); "
        "coverage: share of held-out runs inside the central interval; width: median interval width relative to the prediction.",
        "",
        _table(ext.table),
        "",
        "## Figures",
        "",
        f"![fits]({figures.add('fits', cplots.plot_fits(fits, predictions, scale, ci_prob))})",
        "",
        f"![residuals]({figures.add('residuals', cplots.plot_residuals(fits, predictions, scale))})",
        "",
        f"![pareto k]({figures.add('pareto-k', cplots.plot_pareto_k(pareto, scale))})",
        "",
        f"![extrapolation]({figures.add('extrapolation', cplots.plot_extrapolation(ext, fits, scale, ci_prob))})",
        "",
        "## Laws",
        "",
    ]
    for name, fit in fits.items():
        lines += _law_section(name, fit, pareto[name], figures, ci_prob)
    return "\n".join(lines) + "\n", figures.files


def to_html(text: str, figures: dict[str, bytes]) -> str:
    """Self-contained HTML of the Markdown ``text`` with ``figures`` embedded as data URIs."""
    for file, data in figures.items():
        text = text.replace(f"]({file})", f"](data:image/png;base64,{base64.b64encode(data).decode()})")
    body = markdown.markdown(text, extensions=["tables"])
    body = body.replace("<h2>Verdict</h2>\n<ul>", '<h2>Verdict</h2>\n<ul class="verdict">')
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Scaling-law comparison</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n'


def report(
    fits: Mapping[str, Fit] | list[Fit],
    path: str | Path,
    *,
    by: str | None = None,
    holdout: float = 0.2,
    reloo: bool = False,
    ci_prob: float = 0.9,
    overwrite: bool = False,
    random_seed: int | None = 0,
    extrapolation: Extrapolation | None = None,
    executor: Any = None,
) -> Path:
    """Write the comparison report of ``fits`` to ``path``: ``.html`` (one file) or ``.md`` (figures in ``<name>_files/``).

    Contents: verdict, PSIS-LOO and extrapolation rankings, figures (fits with bands, residuals, Pareto k,
    extrapolation to the held-out largest runs), and per law its equation, priors, posterior and diagnostics.
    ``extrapolation`` passes a :func:`validate_extrapolation` result of the same fits instead of refitting;
    otherwise its refits run on ``executor`` (see :func:`bayescale.executors.executor_for`).
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ArgumentError(f"report path must end in .html or .md, got {path.name!r}")
    figure_dir = path.with_name(f"{path.stem}_files")
    output_path(path, overwrite)
    if path.suffix.lower() == ".md" and figure_dir.exists() and not overwrite:
        raise OverwriteError(f"{figure_dir} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    text, figures = build_markdown(fits, by=by, holdout=holdout, reloo=reloo, ci_prob=ci_prob, random_seed=random_seed, extrapolation=extrapolation, executor=executor)
    if path.suffix.lower() == ".html":
        html = to_html(text, figures)
        return write_atomically(path, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    figure_dir.mkdir(exist_ok=True)
    for file, data in figures.items():
        (figure_dir / file).write_bytes(data)
        text = text.replace(f"]({file})", f"]({figure_dir.name}/{file})")
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
