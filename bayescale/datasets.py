"""Public scaling-law data sets, loaded by name from a data directory.

Like ``seaborn.load_dataset``: :func:`load_dataset` reads one study's main file
from :func:`data_dir` and returns a :class:`pandas.DataFrame` with the package's
canonical columns, all float64 where present:

``N``     parameters
``D``     training tokens (image-text samples for ``laion-clip``)
``C``     training compute, FLOP
``loss``  the study's main target, nats/token (see ``df.attrs["units"]``)
``step``  optimizer step (curve data sets only)
``lr``    learning rate at that step (``multipower`` only; an original ``lr``
          column elsewhere is the run's peak learning rate)

followed by string grouping columns (``df.attrs["groups"]``, main one first)
and every original column of the file. ``df.attrs`` also carries ``name``,
``target`` (the original column behind ``loss``), ``inputs`` (which of N, D, C
are present), ``units`` and ``provenance`` (repository, commit, license,
citation, files read, caveats). The files are never copied into the package: in
the default data directory (the user cache) a data set's files are downloaded
on first use from its source repository at the pinned commit, or from a mirror
(:mod:`bayescale.downloads`), each checked against its sha256.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import pandas as pd
import platformdirs

from . import downloads
from .data import DERIVATIONS
from .errors import DatasetError, MissingFileError

DATA_ENV = "BAYESCALE_DATA"

_CANONICAL = ("N", "D", "C", "loss", "step", "lr")
_INPUTS = ("N", "D", "C")
_UNITS = {
    "N": "parameters",
    "D": "tokens",
    "C": "FLOP",
    "loss": "nats/token",
    "step": "optimizer steps",
    "lr": "absolute learning rate",
}


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the data sets' folders.

    ``path`` if given, else ``$BAYESCALE_DATA``, else the user cache directory
    ``platformdirs.user_cache_dir("bayescale")``.

    >>> data_dir("/srv/scaling-data")
    PosixPath('/srv/scaling-data')
    """
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("bayescale"))


# --------------------------------------------------------------------------- readers

_MISFITTING_KEY = ("model", "total_steps", "peak_lr", "sweep")
_MULTIPOWER_SIZES = (25, 100, 400)
_MULTIPOWER_SCHEDULES = (
    "constant_24000",
    "constant_72000",
    "cosine_24000",
    "cosine_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_9",
    "wsdcon_18",
)


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_csv(path)


def _read_one(paths: list[Path]) -> pd.DataFrame:
    return _read_table(paths[0])


def _read_misfitting(paths: list[Path]) -> pd.DataFrame:
    """Checkpoint table plus ``repeat``: (model, total_steps, peak_lr, sweep) is not
    unique per run, so a run is a block of consecutive rows with increasing steps."""
    df = _read_table(paths[0])
    key = [df[c] for c in _MISFITTING_KEY]
    changed = reduce(lambda a, b: a | b, (k != k.shift() for k in key))
    block = (changed | (df["current_steps"] <= df["current_steps"].shift())).cumsum()
    df["repeat"] = block.groupby(key).rank(method="dense").astype("int64") - 1
    return df


def _read_multipower(paths: list[Path]) -> pd.DataFrame:
    """All 27 curves, with ``model_size``, nominal ``N`` and ``schedule`` from the paths."""
    frames = []
    for path in paths:
        size = path.parent.name.removeprefix("csv_")
        frames.append(_read_table(path).assign(model_size=f"{size}M", N=float(size) * 1e6, schedule=path.stem))
    return pd.concat(frames, ignore_index=True)


def _read_clark(paths: list[Path]) -> pd.DataFrame:
    """The routing curves without the untrained models' evaluations (step 0) and the 8 evaluations at step 248,000
    that have no validation loss."""
    df = _read_table(paths[0])
    return df[df["loss_validation"].notna() & (df["step"] > 0)].reset_index(drop=True)


# --------------------------------------------------------------------------- catalogue

_Source = str | tuple[str, float]  # an original column, or (column, factor)


@dataclass(frozen=True)
class _Study:
    folder: str
    files: tuple[str, ...]  # main file(s), relative to ``folder``
    columns: dict[str, _Source]  # canonical column -> original column
    groups: dict[str, str | tuple[str, ...]]  # group column -> original column(s), joined by "/"
    provenance: dict[str, str]
    six_nd: bool = False  # complete the missing one of D, C by C = 6 N D
    units: dict[str, str] = field(default_factory=dict)  # overrides of _UNITS
    read: Callable[[list[Path]], pd.DataFrame] = _read_one


_STUDIES: dict[str, _Study] = {
    "epoch-chinchilla": _Study(
        folder="epoch_chinchilla",
        files=("svg_extracted_data.csv",),
        columns={"N": "Model Size", "C": "Training FLOP", "loss": "loss"},
        groups={},
        six_nd=True,
        provenance={
            "repository": "https://github.com/epoch-research/analyzing-chinchilla",
            "commit": "92258837425e1b5f2851d624287f0120583a3d0e",
            "license": "none stated",
            "citation": "Besiroglu, Erdil, Barnett, You (2024), Chinchilla Scaling: A replication attempt, "
            "arXiv:2404.10102; runs of Hoffmann et al. (2022), arXiv:2203.15556, Figure 4",
            "caveats": "All 245 Chinchilla runs reconstructed from the SVG of Figure 4: N and C carry axis-reading "
            "error, the final training loss colour-quantisation error, and D = C/(6N) is inferred, not observed. "
            "Epoch's main fit drops the 5 highest-loss rows (the first rows of the file) and fits 240.",
        },
    ),
    "gadre-overtraining": _Study(
        folder="gadre_overtraining",
        files=("runs_flat.csv",),
        columns={"N": "N_params", "D": "D_tokens", "C": "C_6ND", "loss": "loss_c4_val"},
        groups={"dataset": "dataset_name", "model_config": "model_config"},
        provenance={
            "repository": "https://github.com/mlfoundations/scaling",
            "commit": "a003c4913793ac2ae7ef87b28ecb562955d026d5",
            "license": "MIT",
            "citation": "Gadre et al. (2024), Language models scale reliably with over-training and on "
            "downstream tasks, arXiv:2403.08540",
            "caveats": "runs_flat.csv is derived from exp_data/models and exp_data/evals (one final checkpoint per "
            "run, no curves); N includes embeddings, C = 6ND; only runs up to 0.41B parameters, and C4 lacks the "
            "0.41B model at multiplier 32 (31 runs vs 32).",
        },
    ),
    "loss-to-loss": _Study(
        folder="loss_to_loss",
        files=("sweep.csv",),
        columns={"N": "params", "D": "tokens", "C": "iso_flop", "loss": "val_loss"},
        groups={"corpus": "data"},
        provenance={
            "repository": "https://github.com/KempnerInstitute/loss-to-loss-notebooks",
            "commit": "457ce81a019019bc3981937c20a70c52f5fad436",
            "license": "none stated",
            "citation": "Brandfonbrener, Anand, Vyas, Malach, Kakade (2024), Loss-to-Loss Prediction: Scaling "
            "Laws for All Datasets, arXiv:2411.12925",
            "caveats": "IsoFLOP sweeps (D = C/(6N) by construction) with the final in-distribution validation loss; "
            "`flops` is a per-token estimate, not total compute. LR schedule, tokenizer and batch size are not "
            "recorded.",
        },
    ),
    "porian": _Study(
        folder="porian_resolving",
        files=("isoflop_points.csv",),
        columns={"N": "N", "D": "D_tokens", "C": "flops", "loss": "loss"},
        groups={
            "config": ("dataset", "hparams", "warmup", "decay", "param_count", "val"),
            "dataset": "dataset",
        },
        provenance={
            "repository": "https://github.com/formll/resolving-scaling-law-discrepancies",
            "commit": "0dc60d91b8a525858a3067fc9e4a46ff5374cc6f",
            "license": "MIT",
            "citation": "Porian et al. (2024), Resolving Discrepancies in Compute-Optimal Scaling of Language "
            "Models, NeurIPS 2024, arXiv:2406.19146",
            "caveats": "CSV derived from the authors' pickles: per configuration, budget and size the best loss "
            "interpolated at C from logged curves (D = C/(6N)); N follows each configuration's `param_count` "
            "convention and the loss is validation or smoothed train per `val`. Very small N at large C diverge "
            "(loss up to 10); the paper uses only points near each isoFLOP minimum.",
        },
    ),
    "misfitting": _Study(
        folder="misfitting",
        files=("scaling_results.csv",),
        columns={"N": "N", "D": "D", "C": "C", "loss": "loss", "step": "current_steps"},
        groups={"run": (*_MISFITTING_KEY, "repeat"), "model": "model"},
        read=_read_misfitting,
        provenance={
            "repository": "https://github.com/hadasah/scaling_laws",
            "commit": "1f3708c0a12df0effb0ee906b1da5f9f0ff4f4f1",
            "license": "none stated",
            "citation": "Li, Kudugunta, Zettlemoyer (2025), (Mis)Fitting Scaling Laws: A Survey of Scaling Law "
            "Fitting Techniques in Deep Learning, ICLR 2025, arXiv:2502.18969",
            "caveats": "Every intermediate checkpoint of cosine runs decaying over their own `total_steps`; "
            "rows with portion_steps_elapsed >= 1 are the final checkpoints (the file "
            "scaling_results_last_ckpt_only.csv), earlier ones are not equivalent to a run trained to that D. "
            "`run` is reconstructed from consecutive rows, `repeat` counting runs that share (model, total_steps, "
            "peak_lr, sweep); C includes a small constant mask-FLOP term and the eval set is ambiguous "
            "('C4 Eval Loss' but FineWeb-dedup held-out data).",
        },
    ),
    "multipower": _Study(
        folder="multipower_lr_schedules",
        files=tuple(
            f"loss_curve_repo/csv_{size}/{schedule}.csv"
            for size in _MULTIPOWER_SIZES
            for schedule in _MULTIPOWER_SCHEDULES
        ),
        columns={"N": "N", "loss": "loss", "step": "step", "lr": "lr"},
        groups={"run": ("model_size", "schedule"), "schedule": "schedule", "model_size": "model_size"},
        units={"N": "parameters (nominal: 25M, 100M, 400M)"},
        read=_read_multipower,
        provenance={
            "repository": "https://github.com/thu-yao-01-luo/MultiPowerLaw",
            "commit": "8da9f1902602f3391b971a811e3cc51604541769",
            "license": "MIT",
            "citation": "Luo et al. (2025), A Multi-Power Law for Loss Curve Prediction Across Learning Rate "
            "Schedules, ICLR 2025, arXiv:2503.12811",
            "caveats": "Training loss every 128 steps after a 2160-step linear warmup to 3e-4; `lr` is the recorded "
            "rate at the logged steps only. N is nominal and D, C are unknown (batch size and corpus not stated).",
        },
    ),
    "gemstones": _Study(
        folder="gemstones",
        files=("wandb_dfs/wandb_df_for_fitting_hot_100b+_477.jsonl",),
        columns={"N": "params_active_precise", "D": "tokens", "loss": "final_loss", "step": "step"},
        groups={"run": "run_name"},
        six_nd=True,
        provenance={
            "repository": "https://github.com/mcleish7/gemstone-scaling-laws",
            "commit": "5f420478f6057b0cbb4d13405fb10ca64675bccb",
            "license": "MIT",
            "citation": "McLeish et al. (2025), Gemstones: A Model Suite for Multi-Faceted Scaling Laws, "
            "NeurIPS 2025, arXiv:2502.06857",
            "caveats": "Held-out Dolma validation loss every 477 steps of 22 constant-LR ('hot') runs, never decayed, "
            "so higher than a decayed run at the same D (the cooldown and half-LR files are not loaded); N "
            "includes one 50,304 x width embedding, C = 6ND as used by the authors.",
        },
    ),
    "clark-routing": _Study(
        folder="clark_routing",
        files=("curves.csv",),
        columns={"N": "dense_parameter_count", "loss": "loss_validation", "step": "step"},
        groups={"run": "hyper_id", "router": "router_type"},
        units={"N": "dense parameters (those one token sees)", "loss": "nats/token (validation loss)"},
        read=_read_clark,
        provenance={
            "repository": "https://github.com/google-deepmind/scaling_laws_for_routing",
            "commit": "42da0c392b127df2c01fa7b705f72396050d05e5",
            "license": "Apache-2.0",
            "citation": "Clark et al. (2022), Unified Scaling Laws for Routed Language Models, ICML 2022, arXiv:2202.01169",
            "caveats": "Validation-loss curves every 10,000 steps of dense and routed (S-Base, RL-R, Hash) models, all "
            "trained on 130B tokens; `num_experts` is the expert count E (1: dense), `k` the experts per token, "
            "`routing_frequency` the share of routed layers. The authors' fits take the last step (249,000) of runs "
            "with routing_frequency 0.5, k 1 and seed 42, dense models included as E = 1. The largest dense size "
            "(1.31e9 dense parameters) is not in the data directory. The evaluations at step 0 (untrained models) and 8 at "
            "step 248,000 without a validation loss are left out.",
        },
    ),
    "laion-clip": _Study(
        folder="laion_clip_mammut",
        files=("segmentation_results.parquet",),
        columns={
            "N": ("model_mparams", 1e6),
            "D": "samples_seen",
            "C": ("gflops", 3e9),
            "loss": "train_contrastive_loss",
        },
        groups={"family": "namespace", "model_simple": "model_simple"},
        units={
            "D": "image-text samples seen",
            "C": "FLOP (3 x the forward-pass GFLOP column `gflops`)",
            "loss": "nats per image-text pair (training InfoNCE)",
        },
        provenance={
            "repository": "https://github.com/LAION-AI/scaling-laws-for-comparison",
            "commit": "5343917d5712c1ebdcae8d0105f16036fc894795",
            "license": "none stated",
            "citation": "Nezhurina et al. (2025), Scaling Laws for Robust Comparison of Open Foundation "
            "Language-Vision Models and Datasets, NeurIPS 2025, arXiv:2506.04598",
            "caveats": "Vision-language (CLIP vs MaMMUT), not language-model data: final-epoch runs on DataComp-1.4B "
            "with an ADE20K segmentation probe (`miou`) and ImageNet zero-shot accuracy (`acc1`); loss is the "
            "training contrastive loss, D counts samples not tokens. Several columns (e.g. `contrastive_loss`, "
            "`acc`) are all NaN and `train_caption_loss` is NaN for CLIP.",
            "missing": "The study's main table scaling_laws/data/all_results.csv.gz (4,686 models x 3 pretraining "
            "datasets x 35 zero-shot evaluations) is absent from the snapshot, so only DataComp-1.4B runs and no "
            "zero-shot targets beyond ImageNet are available.",
        },
    ),
}

_SLDBENCH = {
    "repository": "https://github.com/linhaowei1/SLD",
    "commit": "61c9d59",
    "license": "MIT",
}


def _sldbench(task: str, columns: dict[str, _Source], groups: dict[str, str], source: str, caveats: str, **options) -> _Study:
    """One SLDBench task's training split (``sldbench/<task>_scaling_law/train.csv``), ``source`` the paper of its data."""
    return _Study(
        folder=f"sldbench/{task}_scaling_law", files=("train.csv",), columns=columns, groups=groups,
        provenance={**_SLDBENCH, "citation": "Lin et al. (2026), Can Language Models Discover Scaling Laws? (SLDBench), ICLR 2026, "
                    f"arXiv:2507.21184; data of {source}",
                    "caveats": "SLDBench's training split only (the benchmark loader's rule); its held-out rows are not in the data "
                    f"directory. {caveats}"},
        **options,
    )


_STUDIES.update({
    "sldbench-data-constrained": _sldbench(
        "data_constrained", {"N": "N", "D": "D", "loss": "loss"}, {},
        "Muennighoff et al. (2023), Scaling Data-Constrained Language Models, arXiv:2305.16264",
        "Held out: runs with one of the two largest N or D. U = unique tokens (each seen D/U times; the source CSV swaps the "
        "names of D and U). C = 6ND.", six_nd=True),
    "sldbench-moe": _sldbench(
        "moe", {"N": "N", "loss": "loss"}, {"experts": "num_experts", "router": "router_type"},
        "Clark et al. (2022), Unified Scaling Laws for Routed Language Models, arXiv:2202.01169",
        "Held out: the largest dense size (1.31e9). Validation loss at step 249000; routers (Dense, Hash, RL-R, S-Base) mixed.",
        units={"N": "dense parameters (those one token sees)"}),
    "sldbench-rectified": _sldbench(
        "rectified", {"D": "D", "loss": "loss"}, {"curve": "curve", "model": "model", "dataset": "dataset"},
        "Lin et al. (2024), Selecting Large Language Model to Fine-tune via Rectified Scaling Law, arXiv:2402.02314",
        "Held out: each curve's point at 819,200 examples. Fine-tuning loss of 14 pre-trained models on subsets of 3 data "
        "sets, one curve per (model, dataset).", units={"D": "fine-tuning examples"}),
    "sldbench-vocab": _sldbench(
        "vocab", {"N": "N", "C": "C", "loss": "loss"}, {},
        "Tao et al. (2024), Scaling Laws with Vocabulary: Larger Models Deserve Larger Vocabularies, arXiv:2407.13623",
        "Held out: the rows with the largest vocabulary size. loss is the unigram-normalized loss (Lossu), negative in "
        "every row: fit it with likelihood='normal-raw'. N counts non-vocabulary parameters; `vocab_size` and "
        "`num_characters` (training characters, not tokens) are the task's other inputs.",
        units={"N": "non-vocabulary parameters", "loss": "nats/token minus the unigram loss (negative)"}),
    "sldbench-lr": _sldbench(
        "lr", {"N": "N", "D": "D", "loss": "loss", "lr": "lr"}, {},
        "Li et al. (2025), Predictable Scale: Optimal Hyperparameter Scaling Law in Large Language Model Pretraining, "
        "arXiv:2503.04715",
        "Held out: runs at the largest N and D together. Smoothed final loss of learning-rate and batch-size sweeps (bs in "
        "sequences); C = 6ND.", six_nd=True, units={"N": "non-embedding parameters", "lr": "peak learning rate"}),
})


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`.

    >>> list_datasets()[:3]
    ['epoch-chinchilla', 'gadre-overtraining', 'loss-to-loss']
    """
    return list(_STUDIES)


# --------------------------------------------------------------------------- loading


def _study(name: str) -> _Study:
    if name in _STUDIES:
        return _STUDIES[name]
    close = difflib.get_close_matches(str(name), _STUDIES, n=1)
    hint = f". Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(f"unknown data set {name!r}; known data sets: {', '.join(_STUDIES)}{hint}")


def _files(study: _Study) -> list[str]:
    """The study's files, as paths under the data directory (the manifest's keys)."""
    return [f"{study.folder}/{file}" for file in study.files]


def _locate(name: str, study: _Study, path: str | os.PathLike[str] | None) -> list[Path]:
    """The study's files; in the default data directory, those missing are downloaded first."""
    root = data_dir(path)
    files = _files(study)
    if path is None and not os.environ.get(DATA_ENV):
        fetch(name, root)
        return [root / file for file in files]
    origin = "from the data_dir= argument" if path is not None else f"from ${DATA_ENV}"
    for file in files:
        if not (root / file).is_file():
            problem = "does not exist" if not root.is_dir() else "lacks the data set's file"
            raise MissingFileError(
                f"data set {name!r}: data directory {root} ({origin}) {problem}; expected the file {file} under it. "
                f"Pass data_dir= or set {DATA_ENV} to the directory that holds the data sets' folders, or run "
                f"`bayescale datasets fetch {name} --data-dir {root}` to download them there."
            )
    return [root / file for file in files]


def fetch(name: str, root: Path, mirror: str | None = None) -> list[str]:
    """Download the files of data set ``name`` missing from the data directory ``root`` (those already there with
    the right sha256 are kept) from its source repository, or from ``mirror`` (default ``$BAYESCALE_DATA_URL``);
    return the files downloaded. See :func:`bayescale.downloads.download` for the errors."""
    study = _study(name)
    source = f"{study.provenance['repository']} at commit {study.provenance['commit']}"
    return downloads.download(name, _files(study), root, mirror, source)


def catalogue(root: Path) -> list[dict]:
    """Per data set: ``name``, ``files``, ``bytes``, ``cached`` (files in ``root`` with the right sha256),
    ``derived`` (files built from the source's files, which only a mirror serves), ``by_hand`` (those of them
    missing) and its ``folder`` under the data directory."""
    rows = []
    for name, study in _STUDIES.items():
        entries = {file: downloads.manifest()[file] for file in _files(study)}
        derived = [file for file, entry in entries.items() if entry["url"] is None]
        missing = {file for file in entries if not downloads.verified(root, file)}
        rows.append({
            "name": name, "files": len(entries), "bytes": sum(entry["size"] for entry in entries.values()),
            "cached": len(entries) - len(missing), "derived": len(derived), "by_hand": len(missing.intersection(derived)),
            "folder": study.folder,
        })
    return rows


def _column(raw: pd.DataFrame, source: _Source) -> pd.Series:
    column, factor = (source, 1.0) if isinstance(source, str) else source
    return raw[column].astype("float64") * factor  # float before any product: N*D overflows int64


def _canonical_names(study: _Study) -> list[str]:
    derived = {"C", "D"} if study.six_nd else set()
    return [name for name in _CANONICAL if name in study.columns or name in derived]


def _canonical(raw: pd.DataFrame, study: _Study) -> pd.DataFrame:
    """Canonical columns, then group columns, then the original columns.

    An original column named like a canonical or group column it does not feed
    is kept as ``<name>_original``.
    """
    out = {name: _column(raw, src) for name, src in study.columns.items()}
    if study.six_nd:
        missing = "D" if "C" in out else "C"
        out[missing] = DERIVATIONS[missing][1](out)
    out = {name: out[name] for name in _canonical_names(study)}
    for name, src in study.groups.items():
        cols = (src,) if isinstance(src, str) else src
        out[name] = reduce(lambda a, b: a + "/" + b, (raw[c].astype(str) for c in cols))
    same = {name for name, src in {**study.columns, **study.groups}.items() if src == name}
    rest = raw.drop(columns=list(same)).rename(columns=lambda c: f"{c}_original" if c in out else c)
    return pd.concat([pd.DataFrame(out, index=raw.index), rest], axis=1)


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the public scaling-law data set ``name`` (see :func:`list_datasets`).

    One row per run, or per checkpoint for the curve data sets ``misfitting``,
    ``multipower`` and ``gemstones`` (``step`` column, ``run`` identifies the
    curve). The file(s) read and their caveats are in ``df.attrs["provenance"]``.
    In the default data directory (the user cache: neither ``data_dir=`` nor ``$BAYESCALE_DATA`` given) missing
    files are downloaded first (``bayescale datasets fetch``; :class:`~bayescale.DatasetError` if that fails).
    Raises :class:`~bayescale.DatasetError` for an unknown name and :class:`~bayescale.MissingFileError` when a
    data directory given (``data_dir=``, else ``$BAYESCALE_DATA``) lacks the files: nothing is written there.

    >>> df = load_dataset("epoch-chinchilla")
    >>> len(df), df.attrs["inputs"], df.attrs["target"]
    (245, ['N', 'D', 'C'], 'loss')
    >>> load_dataset("loss-to-loss").attrs["groups"]
    ['corpus']
    """
    study = _study(name)
    paths = _locate(name, study, data_dir)
    df = _canonical(study.read(paths), study)
    canonical = _canonical_names(study)
    loss_source = study.columns["loss"]
    df.attrs = {
        "name": name,
        "target": loss_source if isinstance(loss_source, str) else loss_source[0],
        "groups": list(study.groups),
        "inputs": [c for c in _INPUTS if c in canonical],
        "units": {c: study.units.get(c, _UNITS[c]) for c in canonical},
        "provenance": {**study.provenance, "files": _files(study)},
    }
    return df
