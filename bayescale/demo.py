"""The offline demo: simulate an isoFLOP sweep from a published law, fit it, predict far beyond it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .fit import Fit
from .files import output_path
from .fitting import fit
from .laws import get_law
from .plots import plot_fit
from .simulate import isoflop_design, simulate

TRUTH = "besiroglu2024"
TARGET_RUN = {"N": 70e9, "D": 1.4e12}  # Chinchilla itself


def run_demo(out_dir: str | Path = "bayescale-demo", random_seed: int = 1, draws: int = 1000, overwrite: bool = False) -> tuple[Fit, pd.DataFrame, Path]:
    """Simulate 80 runs (10 budgets, 1e18-1e21 FLOP) from Chinchilla's replicated law, fit, predict Chinchilla.

    Returns the fit, the prediction at N = 70e9, D = 1.4e12 (with the true law value) and the figure path (an
    existing figure there is replaced only if ``overwrite``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure = output_path(out / "demo_fit.png", overwrite)
    law = get_law("chinchilla")
    design = isoflop_design(np.geomspace(1e18, 1e21, 10), sizes=8, tokens_per_param=(4, 150))
    runs = simulate(law, TRUTH, design=design, noise=0.01, random_seed=random_seed)
    result = fit(law, runs, random_seed=random_seed, draws=draws)
    prediction = result.predict(pd.DataFrame([TARGET_RUN]), ci_prob=0.9, random_seed=random_seed)
    prediction["true_mean"] = law.evaluate({**{k: prediction[k].to_numpy() for k in TARGET_RUN}, **law.references[TRUTH].values})
    plot_fit(result, path=str(figure), overwrite=overwrite)
    return result, prediction, figure
