"""Compiled models cached across processes: digamma unchanged, the same draws cold and cached (on the data the
cached functions were built with and on new data), processes that compile together, and a damaged cache entry
rebuilt rather than used."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import pytensor
import pytensor.tensor as pt
import scipy.special
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

from bayescale import compiled

FIT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, pandas as pd
    import nutpie.compile_pymc
    import bayescale as bs
    from bayescale import sampling
    built = []  # PyTensor functions built afresh (not loaded from the cache)
    make = nutpie.compile_pymc._make_functions
    nutpie.compile_pymc._make_functions = lambda *a, **k: built.append(1) or make(*a, **k)
    runs = bs.simulate("powerlaw-n", {"E": 1.8, "A": 300.0, "alpha": 0.3},
                       design=pd.DataFrame({"N": np.geomspace(1e7, 1e9, 12)}), noise=0.01, random_seed=int(sys.argv[2]))
    fit = bs.fit("powerlaw-n", runs, draws=200, tune=200, random_seed=5, calibrate=False)
    np.save(sys.argv[1], np.stack([fit.idata.posterior[v].values for v in ("E", "A", "alpha")]))
    (model,) = sampling._COMPILED.values()
    print(json.dumps({"hits": model.compiled_logp_func._cache_hits + model.compiled_expand_func._cache_hits, "built": len(built)}))
    """
)


def test_digamma_is_scipys_and_leaves_the_graph_cacheable():
    x = pt.dvector("x")
    graph = pt.digamma(x)
    values = np.array([1e-3, 0.3, 1.0, 2.5, 17.0, 1e5])
    function = pytensor.function([x], graph, mode="NUMBA")
    np.testing.assert_array_equal(function(values), scipy.special.digamma(values))
    _, key = numba_funcify_and_cache_key(function.maker.fgraph)
    assert key is not None, "a graph holding digamma must have a cache key, or PyTensor compiles it in every process"


def _fits(tmp_path, names, env, data_seed=3):
    """Fit in a new process for each of ``names`` at once; each one's cache hits and whether it built the graph."""
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / f"{n}.npy"), str(data_seed)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in names]
    found = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        found.append(json.loads(out.strip().splitlines()[-1]))
    return [(f["hits"], f["built"]) for f in found], [np.load(tmp_path / f"{n}.npy") for n in names]


@pytest.mark.slow
def test_a_cached_model_gives_the_same_draws_and_a_damaged_entry_is_rebuilt(tmp_path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    found, (first, second) = _fits(tmp_path, ["a", "b"], env)  # two processes compile the same model at once
    assert found == [(0, 1), (0, 1)]
    np.testing.assert_array_equal(first, second)
    found, (warm,) = _fits(tmp_path, ["warm"], env)  # one graph per model: the next process loads it
    assert found == [(2, 0)], "a new process compiled the model again instead of loading it from the cache"
    np.testing.assert_array_equal(warm, first)

    # the loaded functions run on the new process's data, not on the data they were pickled with
    found, (new_data,) = _fits(tmp_path, ["new"], env, data_seed=4)
    assert found == [(2, 0)]
    fresh = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'fresh'}"}
    found, (reference,) = _fits(tmp_path, ["reference"], fresh, data_seed=4)
    assert found == [(0, 1)]
    np.testing.assert_array_equal(new_data, reference)
    assert not np.array_equal(new_data, first)

    entries = list((tmp_path / "cache" / "numba").glob("*bayescale-*.nbc"))
    graphs = list((tmp_path / "cache" / "numba").glob("bayescale-graph-*.pkl"))
    assert entries and len(graphs) == 1
    for path in entries + graphs:
        path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk
    found, (rebuilt,) = _fits(tmp_path, ["rebuilt"], env)
    assert found == [(0, 1)], "a damaged entry must not be loaded"
    np.testing.assert_array_equal(rebuilt, first)
    found, _ = _fits(tmp_path, ["again"], env)
    assert found == [(2, 0)], "the rebuilt entries must replace the damaged ones"


def test_cache_entries_are_listed_and_cleared(tmp_path, monkeypatch):
    monkeypatch.setattr(compiled, "NUMBA_CACHE_PATH", tmp_path)
    (tmp_path / "string.logp_c-bayescale-cfunc-1-abc.py311.nbi").write_bytes(b"x")
    (tmp_path / "bayescale-graph-1-abc.pkl").write_bytes(b"z")
    (tmp_path / "pytensor-own-entry.nbi").write_bytes(b"y")
    assert [p.name for p in compiled.cache_entries()] == ["bayescale-graph-1-abc.pkl", "string.logp_c-bayescale-cfunc-1-abc.py311.nbi"]
    assert compiled.clear_cache() == 2
    assert [p.name for p in tmp_path.iterdir()] == ["pytensor-own-entry.nbi"]


def test_an_entry_that_cannot_be_written_leaves_nothing_behind(tmp_path):
    compiled._save(tmp_path / "entry.pkl", (lambda: 0,))  # a local function does not pickle
    assert list(tmp_path.iterdir()) == []
    compiled._save(tmp_path / "entry.pkl", (1, 2))
    assert [p.name for p in tmp_path.iterdir()] == ["entry.pkl"]
