"""Compiled models cached across processes: digamma unchanged, the same draws cold and cached, processes that
compile together, and a damaged cache entry rebuilt rather than used."""

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
    import bayescale as bs
    from bayescale import sampling
    runs = bs.simulate("powerlaw-n", {"E": 1.8, "A": 300.0, "alpha": 0.3},
                       design=pd.DataFrame({"N": np.geomspace(1e7, 1e9, 12)}), noise=0.01, random_seed=3)
    fit = bs.fit("powerlaw-n", runs, draws=200, tune=200, random_seed=5, calibrate=False)
    np.save(sys.argv[1], np.stack([fit.idata.posterior[v].values for v in ("E", "A", "alpha")]))
    (model,) = sampling._COMPILED.values()
    print(json.dumps({"hits": model.compiled_logp_func._cache_hits + model.compiled_expand_func._cache_hits}))
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


def _fits(tmp_path, names, env):
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / f"{n}.npy")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in names]
    hits = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        hits.append(json.loads(out.strip().splitlines()[-1])["hits"])
    return hits, [np.load(tmp_path / f"{n}.npy") for n in names]


@pytest.mark.slow
def test_a_cached_model_gives_the_same_draws_and_a_damaged_entry_is_rebuilt(tmp_path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    hits, (first, second) = _fits(tmp_path, ["a", "b"], env)  # two processes compile the same model at once
    assert hits == [0, 0]
    np.testing.assert_array_equal(first, second)
    hits, (warm,) = _fits(tmp_path, ["warm"], env)  # one graph per model: the next process loads it
    assert hits == [2], "a new process compiled the model again instead of loading it from the cache"
    np.testing.assert_array_equal(warm, first)

    entries = list((tmp_path / "cache" / "numba").glob("*bayescale-*.nbc"))
    assert entries
    for path in entries:
        path.write_bytes(b"not a numba cache entry")
    hits, (rebuilt,) = _fits(tmp_path, ["rebuilt"], env)
    assert hits == [0], "a damaged entry must not be loaded"
    np.testing.assert_array_equal(rebuilt, first)


def test_cache_entries_are_listed_and_cleared(tmp_path, monkeypatch):
    monkeypatch.setattr(compiled, "NUMBA_CACHE_PATH", tmp_path)
    (tmp_path / "string.logp_c-bayescale-cfunc-1-abc.py311.nbi").write_bytes(b"x")
    (tmp_path / "pytensor-own-entry.nbi").write_bytes(b"y")
    assert [p.name for p in compiled.cache_entries()] == ["string.logp_c-bayescale-cfunc-1-abc.py311.nbi"]
    assert compiled.clear_cache() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["pytensor-own-entry.nbi"]
