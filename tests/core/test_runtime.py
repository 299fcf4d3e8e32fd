"""Commands load numba without SciPy and its other optional imports, and cached kernels without
numba's compiler (hdrkit.core.runtime)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_CHILD = """
import importlib.util
import sys
import numpy as np
from hdrkit.core.runtime import imports_hidden
from types import SimpleNamespace

have_colorama = importlib.util.find_spec("colorama") is not None  # optional: not every machine has it

with imports_hidden() as hidden:
    with imports_hidden() as again:  # nested: the outer block hides them already
        from hdrkit.core.signal import yuv_to_linear
        import numba.np.arraymath
        import numba.core.config, numba.core.errors
        c = SimpleNamespace(transfer="pq", matrix="bt2020", bit_depth=10, full_range=False, chroma_shift=(1, 1))
        y = np.full((4, 4), 940, np.uint16)
        u = np.full((2, 2), 512, np.uint16)
        lin = yuv_to_linear(y, u, u, c)  # a kernel loads (or compiles) without SciPy
    loaded = [m for m in ("scipy", "scipy.linalg", "colorama", "yaml") if sys.modules.get(m) is not None]
import scipy.linalg, yaml  # importable again after the block
if have_colorama:
    import colorama
print(",".join(hidden), len(again), numba.np.arraymath._HAVE_BLAS, numba.core.config._HAVE_YAML,
      type(numba.core.errors.termcolor()).__name__, len(loaded), round(float(lin[0, 0, 0]), 2), scipy.linalg.__name__,
      yaml.__name__, colorama.__name__ if have_colorama else "colorama")
"""


def test_kernels_load_without_numbas_optional_imports_which_stay_importable():
    out = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True).stdout.split()
    # PQ code 940: 10000 cd/m^2 = 49.26 x 203
    assert out == ["scipy.linalg", "0", "False", "False", "NOPColorScheme", "0", "49.26", "scipy.linalg", "yaml",
                   "colorama"]


@pytest.mark.parametrize("dask_first", [False, True])
def test_what_numba_skips_at_its_import_imports_in_the_command(dask_first):
    """colorama, PyYAML and the SciPy package are hidden only while numba itself imports: a
    command imports them before or after it (Dask reads its configuration with PyYAML, and a
    ``--cluster`` still command imports Dask before any kernel), while SciPy's BLAS stays
    hidden for the whole block (numba looks for it at its first cache load)."""
    dask = "    import dask\n"
    code = ("import importlib.util\n"
            "from hdrkit.core.runtime import imports_hidden\n"
            "have_colorama = importlib.util.find_spec('colorama') is not None\n"
            "with imports_hidden() as hidden:\n"
            + (dask if dask_first else "") +
            "    import numba, numba.core.config as c\n"
            + ("" if dask_first else dask) +
            "    import yaml, scipy\n"
            "    if have_colorama:\n"
            "        import colorama\n"
            "    try:\n"
            "        import scipy.linalg\n"
            "        blas = 'importable'\n"
            "    except ImportError:\n"
            "        blas = 'hidden'\n"
            "print(','.join(hidden), c._HAVE_YAML, dask.__name__, blas)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["scipy.linalg", str(dask_first), "dask", "hidden"]


def test_a_numba_configuration_file_is_still_read(tmp_path):
    """Where the working directory has a ``.numba_config.yaml``, PyYAML stays importable and
    numba reads the file."""
    (tmp_path / ".numba_config.yaml").write_text("color_scheme: light_bg\n")
    code = ("from hdrkit.core.runtime import imports_hidden\n"
            "with imports_hidden():\n"
            "    import numba.core.config as c\n"
            "print(c._HAVE_YAML, c.COLOR_SCHEME)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout.split()
    assert out == ["True", "light_bg"]


def test_a_process_that_imported_scipy_linalg_is_left_alone():
    code = ("import scipy.linalg; from hdrkit.core.runtime import imports_hidden\n"
            "with imports_hidden(('scipy.linalg',)) as hidden:\n"
            "    import numba.np.arraymath as a\n"
            "print(len(hidden), a._HAVE_BLAS)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["0", "True"]


_LOAD = """
import threading
import numpy as np
from numba.np.ufunc import parallel
from hdrkit.core import kernels
from hdrkit.core.runtime import load_cached_kernels
n = load_cached_kernels()
print(n > 0, len(kernels.lerp_rows.overloads) > 0, len(kernels._render_sdr.overloads), parallel._is_initialized,
      threading.active_count())
"""


def test_serial_kernels_load_from_the_cache_without_threads():
    """What the command server does before it forks: serial kernels loaded, no thread started."""
    warm = ("import numpy as np; from hdrkit.core.kernels import lerp_rows; "
            "lerp_rows(np.zeros(3, np.float32), np.arange(4, dtype=np.float32))")  # in the cache, whatever ran before
    subprocess.run([sys.executable, "-c", warm], check=True)
    out = subprocess.run([sys.executable, "-c", _LOAD], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["True", "True", "0", "False", "1"]


_LIGHT = """
import sys
sys.path.insert(0, sys.argv[1])
from hdrkit.core.runtime import light_cache_loads
import numba.core.caching as caching
plain = caching.Cache.load_overload
with light_cache_loads(), light_cache_loads():  # nested, as a command server's child runs a command in one
    import light_mod  # its njit(cache=True) kernel: compiled and saved by the first process, loaded by the second
    a = light_mod.f(3.0)
    after_load = "numba.np.linalg" in sys.modules  # what the target's refresh imports
    from numba import njit
    g = njit(lambda x: x * 3.0)  # a compile in the block refreshes as always
    b = g(2.0)
    after_compile = "numba.np.linalg" in sys.modules
    patched = caching.Cache.load_overload is not plain
print(a, b, sum(light_mod.f.stats.cache_hits.values()), after_load, after_compile, patched,
      caching.Cache.load_overload is plain)
"""


def test_light_cache_loads_load_without_the_compiler_and_still_compile(tmp_path):
    """Loading a cached kernel in the block imports none of numba's compiler registries; a
    kernel compiled in the block (a cache miss) still compiles; the change ends with the block."""
    import os

    (tmp_path / "light_mod.py").write_text("from numba import njit\n\n@njit(cache=True)\n"
                                           "def f(x):\n    return x * 2.0 + 1.0\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    run = lambda: subprocess.run([sys.executable, "-c", _LIGHT, str(tmp_path)], check=True, capture_output=True,  # noqa: E731
                                 text=True, env=env).stdout.split()
    first = run()  # compiles f (a miss: the compiler's refresh imports the registries)
    assert first[:3] == ["7.0", "6.0", "0"] and first[4:] == ["True", "True", "True"]
    second = run()  # loads f from the cache
    assert second == ["7.0", "6.0", "1", "False", "True", "True", "True"]


def test_the_command_line_loads_its_kernels_without_numba_compiler(tmp_path):
    """A still export from the command line, its kernels from the cache: the same bytes as the
    library's export in this process, and none of the registries a compile needs imported."""
    import os

    from hdrkit.still.export import export_sdr

    src = Path(__file__).resolve().parents[2] / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
    probe = ("import atexit, sys; atexit.register(lambda: print('registries', 'numba.np.linalg' in sys.modules));"
             "sys.argv = ['hdrkit', 'still', *sys.argv[1:]]; from hdrkit.cli import main; main()")
    cli_out, lib_out = tmp_path / "cli.jpg", tmp_path / "lib.jpg"
    args = [str(src), "-o", str(cli_out), "-q"]
    subprocess.run([sys.executable, "-c", probe, *args], check=True, env={**os.environ, "HDRKIT_SERVER": "off"})
    out = subprocess.run([sys.executable, "-c", probe, *args, "--force"], check=True, capture_output=True, text=True,
                         env={**os.environ, "HDRKIT_SERVER": "off"})  # the kernels are cached by now
    assert out.stdout.split()[-2:] == ["registries", "False"]
    export_sdr(src, lib_out)
    assert cli_out.read_bytes() == lib_out.read_bytes()


_EVERY = """
import importlib, pkgutil, sys
import hdrkit.core
for m in pkgutil.iter_modules(hdrkit.core.__path__):
    importlib.import_module("hdrkit.core." + m.name)  # every module that holds kernels
from hdrkit.core.runtime import cache_counts, light_cache_loads, load_cached_kernels
with light_cache_loads():
    n = load_cached_kernels(parallel=True)
print(n, sum(cache_counts()["misses"].values()), "numba.np.linalg" in sys.modules)
"""


def test_every_cached_kernel_loads_and_links_without_the_compiler():
    """Every kernel specialisation in the cache (after the install's precompile: every one the
    commands use) loads and links with only numba's runtime initialised; machine code needing
    something the skipped refresh provides fails here, not in a user's command."""
    out = subprocess.run([sys.executable, "-c", _EVERY], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    n, misses, registries = out.stdout.split()
    assert int(n) > 20 and misses == "0" and registries == "False"


def test_kernel_threads_is_per_calling_thread():
    """A thread that asks for one kernel thread gets it; the other threads keep their count, and
    a count beyond numba's pool is clipped to the pool."""
    import threading

    import numba

    from hdrkit.core.runtime import kernel_threads

    pool = numba.config.NUMBA_NUM_THREADS
    before = numba.get_num_threads()
    seen = {}

    def worker():
        seen["set"] = kernel_threads(1)
        seen["in thread"] = numba.get_num_threads()
        seen["clipped"] = kernel_threads(pool + 5)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == {"set": 1, "in thread": 1, "clipped": pool}
    assert numba.get_num_threads() == before


_TYPEOF_CHILD = """
import sys
import numpy as np
from hdrkit.core.runtime import light_cache_loads

base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
ro = np.zeros((3, 3), np.uint16)
ro.setflags(write=False)
arrays = [base, np.asfortranarray(base), base[:, ::2], base[0], ro, np.zeros(5, np.bool_),
          np.zeros((2, 2), np.complex128)]
with light_cache_loads():
    import numba
    from numba.core.typing.typeof import typeof_impl
    light = [typeof_impl(a, None) for a in arrays]
    try:
        typeof_impl(np.zeros(2, "V8"), None)
    except numba.core.errors.NumbaValueError as e:
        bad = type(e).__name__
    from hdrkit.core.kernels import box_mean
    box_mean(np.zeros((4, 4, 3), np.float32), 2)  # a kernel's first call types its arrays
    ma_after_kernel = "numpy.ma" in sys.modules
    import numpy.ma
    try:  # once numpy.ma is imported, numba's own test refuses masked arrays again
        typeof_impl(np.ma.masked_array([1.0, 2.0]), None)
    except numba.core.errors.NumbaTypeError:
        masked = "refused"
own = [typeof_impl(a, None) for a in arrays]  # numba's function, after the block
print(light == own, bad, ma_after_kernel, masked, getattr(typeof_impl.dispatch(np.ndarray), "light", False))
"""


def test_arrays_are_typed_as_numba_types_them_without_importing_numpy_ma():
    """In a command, numba types a kernel's array arguments without importing numpy.ma (25 ms at
    the first kernel call); the types are numba's own, masked arrays are refused once numpy.ma
    exists, and numba's function is back after the block."""
    out = subprocess.run([sys.executable, "-c", _TYPEOF_CHILD], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "NumbaValueError", "False", "refused", "False"]
