"""Compiled models that a new process loads from disk instead of compiling again.

A model's log density and gradient are one PyTensor graph compiled by numba, and PyTensor keeps such a graph in
its numba cache (``<base_compiledir>/numba``, keyed by the graph's structure; data enter as shared variables, so
new data reuse the entry; numba writes its entries atomically, so processes starting together do not clash).
Two things kept a bayescale fit from using it, both measured on the Epoch Chinchilla fit (``benchmarks/cold_fit.py``):

* the Student-t likelihood's gradient needs digamma, which PyTensor calls through a function pointer into SciPy
  and therefore never caches: one uncached node left the whole graph uncached. Here digamma calls the same SciPy
  function through PyTensor's own cached-pointer intrinsic, so its values are unchanged;
* nutpie wraps the compiled function in ``numba.cfunc`` callbacks that cannot be cached (they close over the
  data layout) and took 10-15 s to build in every process. Here the callbacks are generated as source with the
  layout written in and cached under a key made of the graph's key and that source, and nutpie samples them as
  its own (:class:`nutpie.compile_pymc.CompiledPyMCModel`).

* before numba sees it, the log density's graph is built by PyMC, differentiated, and rewritten by PyTensor
  (588 nodes to 112 for the Epoch Chinchilla fit): 1.5 s of a warm process's 2 s of compiling. The rewritten
  functions are pickled next to the callbacks, keyed by the model's structure (the key of the process's own
  cache of compiled models, :mod:`bayescale.sampling`), the source of the modules that build models and the
  library versions; a new process loads them and sets the model's data into their shared variables.

A damaged entry that numba or pickle fails to load is removed and compiled again; entries are written to a
temporary file and renamed into place, so processes compiling at once never read a partial one. The entries are
written only by this module into the user's own cache directory, which is trusted as numba's own pickled entries
there are. ``bayescale cache --clear`` empties the cache of bayescale's entries;
``PYTENSOR_FLAGS=base_compiledir=...`` moves it.
"""

from __future__ import annotations

import importlib.metadata
import pickle
import sys
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import types
from numba.core.extending import get_cython_function_address
from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, NUMBA_CACHE_PATH, _call_cached_ptr, compile_numba_function_src
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_and_cache_key
from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, scalar_op_cache_key
from pytensor.scalar.math import Psi

from .errors import OutputError
from .files import write_atomically

_PSI_NAME = "scipy.special.cython_special.psi.float64"
_PSI_TYPE = types.FunctionType(types.float64(types.float64, types.intc))


@numba_njit
def _psi_pointer():
    with numba.objmode(pointer=types.intp):
        pointer = get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1psi")
    return pointer


@register_funcify_and_cache_key(Psi)
def _funcify_psi(op, node, **kwargs):
    """Digamma of a float64, through SciPy's compiled function with its pointer looked up at run time."""
    if [i.type.dtype for i in node.inputs] != ["float64"] or node.outputs[0].type.dtype != "float64":
        return numba_funcify_ScalarOp(op, node, **kwargs)

    @numba_njit
    def psi(x):
        function = _call_cached_ptr(get_ptr_func=_psi_pointer, func_type_ref=_PSI_TYPE, unique_func_name_lit=_PSI_NAME)
        return function(x, np.intc(1))

    return psi, scalar_op_cache_key(op, cache_version="bayescale-psi-1")


_LOGP_SOURCE = """
def logp_c(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        data = read(user_data_)
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x{args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""
_EXPAND_SOURCE = """
def expand_c(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim} or expanded != {n_expanded}:
        return -1
    try:
        data = read(user_data_)
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner(x{args})
        out[...] = values
    except Exception:
        return -2
    return 0
"""
_READ_SOURCE = """
def read(user_data_):
    shared = numba.carray(user_data_, (), record)["shared"]
{arrays}    return ({names})
"""
_ARRAY_SOURCE = """\
    a{i} = numba.carray(address(shared["data"][{name!r}][()]), int(shared["size"][{name!r}][()]), dtype{i})
    a{i} = a{i}.reshape(({shape}))
"""


def _compile_source(source: str, env: dict[str, Any], key: str | None) -> Any:
    """The function defined by ``source``, registered for PyTensor's disk cache under ``key`` (None: not cached)."""
    name = source.split("def ", 1)[1].split("(", 1)[0]
    env = {"__name__": __name__, "numba": numba, "np": np, **env}
    return compile_numba_function_src(source, name, env, cache_key=key)


def _cfunc(template: str, signature: Any, jit_fn: Any, inputs: list[str], data: dict[str, np.ndarray],
           record: np.dtype, **sizes) -> Any:
    """A C callback for nutpie that runs ``jit_fn`` on its data, read from nutpie's user-data record; cached on disk
    under the graph's own cache key when PyTensor caches the graph.

    The data are read in a function of their own: inside the callback's ``try`` block, numba's liveness analysis
    grew quadratically with the statements and took 90 s on a seven-input model."""
    from nutpie.compile_pymc import address_as_void_pointer

    env = {"record": record, "address": address_as_void_pointer}
    arrays = ""
    for i, name in enumerate(inputs):
        shape = "".join(f"int(shared['shape'][{name!r}][{d}]), " for d in range(data[name].ndim))
        arrays += _ARRAY_SOURCE.format(i=i, name=name, shape=shape)
        env[f"dtype{i}"] = data[name].dtype
    read_source = _READ_SOURCE.format(arrays=arrays, names="".join(f"a{i}, " for i in range(len(inputs))))
    source = template.format(args="".join(f", data[{i}]" for i in range(len(inputs))), **sizes)
    graph_key = CACHED_SRC_FUNCTIONS.get(jit_fn.py_func)
    digest = None if graph_key is None else sha256((graph_key + read_source + source + str(record)).encode()).hexdigest()

    cached = digest is not None

    def build():
        read = numba_njit(_compile_source(read_source, env, f"bayescale-read-1-{digest}" if cached else None), cache=cached)
        function = _compile_source(source, {"inner": jit_fn, "read": read}, f"bayescale-cfunc-1-{digest}" if cached else None)
        return numba.cfunc(signature, cache=cached)(function)

    try:
        return build()
    except Exception:  # numba raises while loading a damaged entry: remove it and compile afresh, once
        if not cached:
            raise
        for path in NUMBA_CACHE_PATH.glob(f"*{digest}*"):
            path.unlink(missing_ok=True)
        return build()


_LOGP_SIGNATURE = types.int64(
    types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.CPointer(types.double), types.voidptr
)
_EXPAND_SIGNATURE = types.int64(
    types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.voidptr
)


def compile_model(model: Any, key: str | None = None) -> Any:
    """Compile ``model`` (a PyMC model) for nutpie, from the disk caches where they hold its functions; ``key``
    names the model's structure (None: its PyTensor functions are built afresh and not kept)."""
    import pytensor
    from nutpie.compile_pymc import (
        CompiledPyMCModel, _make_functions, _prepare_dims_and_coords, _rv_dict_to_flat_array_wrapper, _wrap_with_lock,
        make_user_data,
    )
    from pymc.initial_point import make_initial_point_fn

    # as nutpie's own compile does: sampler threads may ask for starting points at once
    point_fn = _wrap_with_lock(make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True))
    path = None if key is None else NUMBA_CACHE_PATH / f"bayescale-graph-1-{_graph_digest(key)}.pkl"
    with pytensor.config.change_flags(numba__fastmath=False):
        functions = _load_functions(path, model)
        if functions is None:
            functions = _make_functions(model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=point_fn)
            n_dim, n_expanded, logp_fn, expand_fn, initial_point, shape_info = functions
            if path is not None:
                _save(path, (n_dim, n_expanded, logp_fn, expand_fn, shape_info))
        else:
            n_dim, n_expanded, logp_fn, expand_fn, shape_info = functions
            n_free = len(model.free_RVs)
            initial_point = _rv_dict_to_flat_array_wrapper(point_fn, names=shape_info[0][:n_free], shapes=shape_info[2][:n_free])
        shared = {v.name: v for v in [*logp_fn.get_shared(), *expand_fn.get_shared()]}
        data = {name: np.array(v.get_value(), order="C") for name, v in shared.items()}
        for value in data.values():
            value.flags.writeable = False
        user_data = make_user_data(shared, data)
        logp = _cfunc(_LOGP_SOURCE, _LOGP_SIGNATURE, logp_fn.vm.jit_fn, [v.name for v in logp_fn.get_shared()], data, user_data.dtype,
                      n_dim=n_dim)
        expand = _cfunc(_EXPAND_SOURCE, _EXPAND_SIGNATURE, expand_fn.vm.jit_fn, [v.name for v in expand_fn.get_shared()], data,
                        user_data.dtype, n_dim=n_dim, n_expanded=n_expanded)
    dims, coords = _prepare_dims_and_coords(model, shape_info)
    return CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info)},
        compiled_logp_func=logp, compiled_expand_func=expand, initial_point_func=initial_point,
        shared_data=data, user_data=user_data, n_expanded=n_expanded, shape_info=shape_info,
        logp_func=logp_fn, expand_func=expand_fn,
    )


def _graph_digest(key: str) -> str:
    """The digest naming a model's pickled functions: its structure ``key``, bayescale's source (which builds the
    model from it), the libraries that compile it and PyTensor's flags that change graphs."""
    import pytensor

    config = pytensor.config
    flags = [config.floatX, config.optimizer_excluding, config.optimizer_including, config.optimizer_requiring]
    return sha256("\n".join([key, _source_and_versions(), *map(str, flags)]).encode()).hexdigest()


@cache
def _source_and_versions() -> str:
    package = Path(__file__).parent
    source = sha256(b"".join(path.read_bytes() for path in sorted(package.rglob("*.py")))).hexdigest()
    versions = [f"{name} {importlib.metadata.version(name)}" for name in ("pytensor", "pymc", "nutpie", "numba", "numpy")]
    return "\n".join([source, sys.version, *versions])


def _load_functions(path: Path | None, model: Any) -> tuple | None:
    """The pickled functions at ``path`` with ``model``'s data set into them; None where there are none, or they
    do not fit the model (the entry is then removed: a damaged or mismatched entry is never used)."""
    if path is None or not path.exists():
        return None
    data = {var.name: var.get_value() for var in model.data_vars}
    try:
        functions = pickle.loads(path.read_bytes())
        _, _, logp_fn, expand_fn, shape_info = functions
        names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        if shape_info[0][: len(names)] != names:
            raise ValueError(f"free variables {shape_info[0][:len(names)]}, the model's are {names}")
        for var in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
            var.set_value(data[var.name])
    except Exception:  # whatever is wrong with the entry (truncated, from another model), it is rebuilt
        path.unlink(missing_ok=True)
        return None
    return functions


def _save(path: Path, functions: tuple) -> None:
    """Pickle ``functions`` to ``path``, never half-written; a cache that cannot be written (a read-only directory,
    a full disk, an op that does not pickle) costs the next process a compile, not this fit."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda tmp: Path(tmp).write_bytes(pickle.dumps(functions, protocol=pickle.HIGHEST_PROTOCOL)))
    except (OSError, OutputError, pickle.PicklingError, TypeError, AttributeError):
        pass


def cache_entries() -> list[Any]:
    """bayescale's entries in the compile cache (the rewritten graphs, callbacks and data readers of compiled models)."""
    return sorted(NUMBA_CACHE_PATH.glob("*bayescale-*"))


def clear_cache() -> int:
    """Remove bayescale's entries from the compile cache; return how many files were removed."""
    entries = cache_entries()
    for path in entries:
        path.unlink(missing_ok=True)
    return len(entries)
