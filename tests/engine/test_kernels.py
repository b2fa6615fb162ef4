"""The compiled kernels give the NumPy path's bits: every optimizer with each option, the dense
epilogues (alone and as a network's steps) and the cross-entropy's, run both ways on the same inputs (float32 and
float64, several sizes, odd lengths), and
the raw bytes compared. Run again with NNCTL_JIT=0 by the CI: then both sides are NumPy's, and the
tests that need numba are skipped."""

import numpy as np
import pytest

from nnctl.engine import kernels
from nnctl.engine.optimizers import OPTIMIZERS
from nnctl.engine.packing import Packed

CASES = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.95}),
    ("adam", {"lr": 0.001}),
    ("adam", {"lr": 0.003, "amsgrad": True}),
    ("adam", {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7}),
    ("adamw", {"lr": 0.001}),
    ("adamw", {"lr": 0.001, "amsgrad": True, "weight_decay": 0.1}),
    ("adamax", {}),
    ("adamax", {"lr": 0.01, "beta_1": 0.7}),
    ("nadam", {}),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.01}),
]
SIZES = (1, 7, 1001, 65_537)
STEPS = 6

jit_only = pytest.mark.skipif(kernels.load() is None, reason="numba is not importable or NNCTL_JIT=0")


def packed(flat):
    """A model's packed mapping over `flat`: two named views, end to end."""
    cut = len(flat) // 3
    return Packed({"a": flat[:cut], "b": flat[cut:]}, flat, "params")


def train(name, options, dtype, size, jit, monkeypatch):
    """p and every state buffer after STEPS steps on fixed gradients, by the kernel or by NumPy."""
    monkeypatch.setenv("NNCTL_JIT", "1" if jit else "0")
    monkeypatch.setattr(kernels, "MIN_PARAMS", 0)
    rng = np.random.default_rng(size)
    p = rng.normal(size=size).astype(dtype)
    g = np.empty(size, dtype)
    optimizer = OPTIMIZERS[name](**options)
    params, grads = packed(p), packed(g)
    for step in range(STEPS):
        g[...] = rng.normal(scale=10.0 ** rng.integers(-4, 2), size=size)
        g[::5] = 0.0
        g[1::11] = -0.0
        optimizer.step(params, grads)
    return [p.tobytes()] + [optimizer._flat_state[k].tobytes() for k in sorted(optimizer._flat_state)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{'-'.join(o) or 'defaults'}" for n, o in CASES])
def test_an_optimizer_kernel_gives_numpys_bits(name, options, dtype, size, monkeypatch):
    compiled = train(name, options, dtype, size, True, monkeypatch)
    numpy = train(name, options, dtype, size, False, monkeypatch)
    assert len(compiled) == len(numpy) > 1 or name == "sgd"
    for a, b in zip(compiled, numpy):
        assert a == b


@jit_only
def test_the_kernel_runs_above_the_threshold_and_numpy_below(monkeypatch):
    calls = []
    monkeypatch.delenv("NNCTL_JIT", raising=False)  # the rule decides
    jit = kernels.load()
    monkeypatch.setattr(jit, "adam", lambda *args: calls.append(len(args[0])))
    monkeypatch.setattr(kernels, "MIN_PARAMS", 100)
    for size in (99, 100):
        p = np.zeros(size, np.float32)
        OPTIMIZERS["adam"]().step(packed(p), packed(np.ones(size, np.float32)))
    assert calls == [100]


def test_numpy_scalars_keep_the_numpy_path(monkeypatch):
    """An np.float64 learning rate makes NumPy step a float32 array in float64: the kernel is not used."""
    monkeypatch.setattr(kernels, "MIN_PARAMS", 0)
    optimizer = OPTIMIZERS["adam"](lr=np.float64(0.001))
    assert not optimizer._fused(kernels.load(), np.zeros(3, np.float32), np.zeros(3, np.float32))


def test_nnctl_jit_0_never_loads_the_kernels_and_1_always_does(monkeypatch):
    monkeypatch.setenv("NNCTL_JIT", "0")
    assert kernels.load() is None and kernels.for_params(10**9) is None
    monkeypatch.setenv("NNCTL_JIT", "1")
    assert kernels.for_params(1) is kernels.load()


# NumPy sums one column pairwise (in blocks of 8, halves above 128 rows) and several columns row
# after row: every width of that rule, around each of its boundaries and the epilogue's threshold
BATCHES = (1, 7, 8, 9, 17, 127, 128, 129, 16_384, 16_391)
WIDTHS = (1, 2, 3, 13)


@jit_only
@pytest.mark.parametrize("shape", [(rows, cols) for rows in BATCHES for cols in WIDTHS] + [(128, 256), (33, 10)],
                         ids=lambda shape: f"{shape[0]}x{shape[1]}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_dense_epilogues_give_numpys_bits(shape, dtype):
    jit, rng = kernels.load(), np.random.default_rng(shape[0] * 100 + shape[1])
    c = np.dtype(dtype).type
    z = rng.normal(size=shape).astype(dtype)
    z.flat[::7] = 0.0
    z.flat[1::9] = -0.0
    b = rng.normal(size=shape[1]).astype(dtype)
    b[::3] = 0.0
    b[1::3] = -0.0  # -0.0 + -0.0: relu's max(-0.0, 0) is NumPy's +0.0
    expected_z = z + b
    expected_y = np.maximum(expected_z, np.zeros_like(expected_z))
    y = np.empty_like(z)
    jit.bias_relu(z, b, y, c(0))
    assert z.tobytes() == expected_z.tobytes() and y.tobytes() == expected_y.tobytes()

    # magnitudes far apart, which cancel: a sum in another order than NumPy's rounds differently
    dy = (rng.normal(size=shape) * 10.0 ** rng.integers(-8, 9, size=shape)).astype(dtype)
    dy.flat[::4] = -0.0
    expected_dz = dy * (y > 0)
    expected_db = np.empty(shape[1], dtype)
    np.sum(expected_dz, axis=0, out=expected_db)
    dz, db = np.empty_like(dy), np.empty(shape[1], dtype)
    jit.relu_backward_bias(dy, y, dz, db, c(0), c(1))
    assert dz.tobytes() == expected_dz.tobytes()
    assert db.tobytes() == expected_db.tobytes()


@pytest.mark.slow
@jit_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_pairwise_sum_is_numpys_for_every_length(dtype):
    """Every length to 300 (NumPy's blocks of 8 and its halving above 128), and long ones, each
    summed in NumPy's order where one in row order differs for most of them."""
    jit, rng = kernels.load(), np.random.default_rng(3)
    zero, differs = np.dtype(dtype).type(0), 0
    for n in [*range(301), 1_000, 16_384, 16_391, 100_003]:
        a = (rng.normal(size=n) * 10.0 ** rng.integers(-4, 5, size=n)).astype(dtype)
        a[::13] = -0.0
        expected = np.add.reduce(a.reshape(n, 1), axis=0)
        total = np.asarray(zero + jit.pairwise_sum(a, zero), dtype)  # zero +: NumPy's reduction starts from 0
        assert total.tobytes() == expected.tobytes(), n
        in_rows = zero
        for value in a:
            in_rows = in_rows + value
        differs += in_rows != expected[0]
    assert differs > 200  # the data tells the orders apart


def fit_steps(dtype, jit, monkeypatch, steps=4):
    """A network with every pairing case (dense+relu, then dropout; dense+relu, then batchnorm with
    relu; a softmax output) after `steps` Adam steps, by the fused steps or by the layers one by one;
    its parameters, gradients, last loss and an inference's outputs as bytes."""
    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build

    monkeypatch.setenv("NNCTL_JIT", "1" if jit else "0")
    layers = [dict(units=13, activation="relu"), dict(type="dropout", rate=0.3), dict(units=9, activation="relu"),
              dict(type="batchnorm", activation="relu"), dict(units=4, activation="softmax")]
    model, rng = build(layers, 6, np.random.default_rng(0), dtype), np.random.default_rng(1)
    optimizer, loss = OPTIMIZERS["adam"](lr=0.01), LOSSES["cross_entropy"]
    for step in range(steps):
        x = rng.normal(size=(11 - step, 6)).astype(dtype)  # shrinking batches: views of the kept arrays
        x[0] = 0.0
        z = model.forward(x, training=True, logits=True)
        value, dz = loss.value_and_grad(z, rng.integers(0, 4, len(x)))
        model.backward(dz, logits=True)
        optimizer.step(model.params(), model.grads())
    steps_run = [type(step).__name__ for step in model._forward[True]]
    inference = model.forward(rng.normal(size=(5, 6)).astype(dtype)).tobytes()  # fused too, once numba is in
    return model.params().flat.tobytes() + model.grads().flat.tobytes() + np.float64(value).tobytes() + inference, \
        steps_run, model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dense_relu_steps_give_the_two_layers_bits(dtype, monkeypatch):
    compiled, steps, model = fit_steps(dtype, True, monkeypatch)
    numpy, _, _ = fit_steps(dtype, False, monkeypatch)
    assert compiled == numpy
    assert steps == ["DenseEpilogue", "Dropout", "DenseEpilogue", "BatchNorm", "Activation", "Dense"]
    if kernels.load() is not None:
        monkeypatch.setenv("NNCTL_JIT", "1")
        assert model._forward[True][0].jit is kernels.load()  # the kernels ran, not the fallback
    x = np.ones((3, 6), dtype)
    inference = model.forward(x)
    kept = inference.copy()
    model.forward(2 * x, training=True)
    assert inference.tobytes() == kept.tobytes()  # inference's arrays are never the reused ones


def trained_weights(setting, width, dtype, rows, batch_size, monkeypatch, epochs=3):
    """The packed weights after `epochs` of fit() on a (4 -> width relu -> 3 softmax) network, with
    NNCTL_JIT set to `setting` ("" unset: the rule decides, by MIN_ELEMENTS)."""
    from types import SimpleNamespace

    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build
    from nnctl.engine.train import fit

    if setting:
        monkeypatch.setenv("NNCTL_JIT", setting)
    else:
        monkeypatch.delenv("NNCTL_JIT", raising=False)
    rng = np.random.default_rng(width)
    x = (rng.normal(size=(rows + 10, 4)) * [1, 10, 100, 0.1]).astype(dtype)
    y = rng.integers(0, 3, rows + 10)
    data = SimpleNamespace(x_train=x[:rows], y_train=y[:rows], x_val=x[rows:], y_val=y[rows:], task="classification",
                           target_scale=1.0)
    model = build([dict(units=width, activation="relu"), dict(units=3, activation="softmax")], 4,
                  np.random.default_rng(0), dtype)
    fit(model, LOSSES["cross_entropy"], OPTIMIZERS["adam"](lr=0.01), data, epochs=epochs, batch_size=batch_size,
        shuffle=True, seed=0)
    return model.params().flat.tobytes()


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [8, 9, 17, 129])
def test_whole_trainings_give_the_same_weights_with_and_without_the_kernels(width, dtype, batch_size, monkeypatch):
    """NNCTL_JIT=1 against NNCTL_JIT=0 on a narrow relu layer, whose bias gradient is one column's sum
    at width 1 (the case the kernel once summed row by row where NumPy sums pairwise)."""
    compiled = trained_weights("1", width, dtype, 400, batch_size, monkeypatch)
    assert compiled == trained_weights("0", width, dtype, 400, batch_size, monkeypatch)


@jit_only
@pytest.mark.parametrize("width", [1, 2, 3])
def test_the_default_gives_numpys_weights_at_batches_past_the_kernels_threshold(width, monkeypatch):
    """Unset NNCTL_JIT: a batch of 16,391 rows has more values than MIN_ELEMENTS even at width 1, so
    the epilogue kernels run, and must give the weights NNCTL_JIT=0 gives."""
    rows = 2 * 16_391
    default = trained_weights("", width, "float32", rows, 16_391, monkeypatch, epochs=2)
    assert default == trained_weights("0", width, "float32", rows, 16_391, monkeypatch, epochs=2)


@jit_only
def test_the_dense_epilogue_runs_above_the_threshold_and_the_layers_below(monkeypatch):
    from nnctl.engine.model import build

    monkeypatch.delenv("NNCTL_JIT", raising=False)  # the rule decides
    monkeypatch.setattr(kernels, "MIN_ELEMENTS", 40)
    kernels_jit = kernels.load()
    monkeypatch.setattr(kernels, "_loaded", {})  # as if numba were not imported yet
    model = build([dict(units=8, activation="relu"), dict(units=2)], 3, np.random.default_rng(0))
    step = model._forward[False][0]
    for rows, compiled in ((4, False), (5, True), (4, True)):  # 4 x 8 values below the threshold, 5 x 8
        model.forward(np.ones((rows, 3), np.float32), training=True)  # at it; then numba is loaded, and
        assert step.jit is (kernels_jit if compiled else None)  # a small batch of a large model takes them


@pytest.mark.slow
@jit_only
@pytest.mark.parametrize("shape", [(1, 1), (5, 2), (7, 3), (128, 10), (33, 17), (8192, 10)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", ["int64", "int32", "uint8"])
def test_the_cross_entropy_kernels_give_numpys_bits(shape, dtype, labels, monkeypatch):
    from nnctl.engine.losses import cross_entropy

    rng = np.random.default_rng(shape[0])
    for scale in (0.01, 1.0, 30.0):
        z = (rng.normal(size=shape) * scale).astype(dtype)
        z.flat[::7] = 0.0
        z.flat[1::5] = -0.0
        y = rng.integers(0, shape[1], shape[0]).astype(labels)
        results = []
        for setting in ("1", "0"):
            monkeypatch.setenv("NNCTL_JIT", setting)
            value, dz = cross_entropy(z, y)
            results.append(np.float64(value).tobytes() + dz.tobytes() + dz.dtype.str.encode())
        assert results[0] == results[1]


@jit_only
def test_the_cross_entropy_kernels_leave_out_of_range_classes_to_numpy(monkeypatch):
    from nnctl.engine.losses import cross_entropy

    monkeypatch.setenv("NNCTL_JIT", "1")
    z = np.arange(12, dtype=np.float32).reshape(4, 3)
    with pytest.raises(IndexError):
        cross_entropy(z, np.array([0, 1, 2, 3]))
    last = cross_entropy(z, np.array([0, 1, 2, -1]))  # NumPy's -1: the last class
    monkeypatch.setenv("NNCTL_JIT", "0")
    assert last[1].tobytes() == cross_entropy(z, np.array([0, 1, 2, -1]))[1].tobytes()


def test_the_loss_kernels_wait_for_a_large_model_to_load_numba(monkeypatch):
    """cross_entropy saves microseconds a batch: never worth importing numba for."""
    monkeypatch.delenv("NNCTL_JIT", raising=False)
    monkeypatch.setattr(kernels, "_loaded", {})
    assert kernels.if_loaded() is None
    kernels.load()
    assert kernels.if_loaded() is kernels.load()
    monkeypatch.setenv("NNCTL_JIT", "0")
    assert kernels.if_loaded() is None


@pytest.mark.slow
@jit_only
def test_without_a_writable_cache_the_kernels_compile_in_memory():
    """A read-only install: numba finds no folder to cache in (NUMBA_CACHE_DIR cannot be made, and
    the other places are not tried), so the kernels compile in memory, silently, and still run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    probe = ("import numpy as np\nfrom nnctl.engine import kernels\njit = kernels.load()\n"
             "p = np.ones(5, np.float32)\njit.sgd(p, p.copy(), np.float32(0.5))\n"
             "print(p.tolist(), sum(jit.sgd.stats.cache_hits.values()))")
    env = {**os.environ, "PYTHONPATH": str(repo), "NUMBA_CACHE_DIR": "/dev/null/numba",
           "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator"}
    out = subprocess.run([sys.executable, "-W", "error", "-c", probe], cwd=repo, env=env, check=True,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["[0.5,", "0.5,", "0.5,", "0.5,", "0.5]", "0"]
    assert out.stderr == ""


@pytest.mark.slow
def test_a_small_run_never_imports_numba(tmp_path):
    """moons' 1,218 parameters stay on NumPy: importing numba would cost more than the whole run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    probe = (f"from nnctl.cli import main\ntry:\n    main(['train', 'configs/moons.yaml', '-q', '--no-plots', "
             f"'--run-dir', {str(tmp_path / 'run')!r}])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             f"import sys\nprint('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                         check=True, capture_output=True, text=True)
    assert out.stdout.splitlines()[-1] == "False"


@pytest.mark.slow
def test_a_numba_that_fails_to_load_falls_back_to_numpy_with_the_same_bits(tmp_path, monkeypatch):
    """NUMBA_NUM_THREADS=0 makes `import numba` raise ValueError (not ImportError): the run was an
    internal error; it now trains on NumPy, to the bits of NNCTL_JIT=0."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from nnctl import api

    repo = Path(__file__).resolve().parents[2]
    probe = (f"from nnctl.engine import kernels\nprint(kernels.load())\nfrom nnctl.cli import main\n"
             f"main(['train', 'configs/moons.yaml', '-q', '--no-plots', '--run-dir', {str(tmp_path / 'jit')!r}, "
             f"'--set', 'training.epochs=2'])")
    env = {**os.environ, "PYTHONPATH": str(repo), "NUMBA_NUM_THREADS": "0", "NNCTL_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.splitlines() == ["None"], out.stderr
    monkeypatch.setenv("NNCTL_JIT", "0")
    api.train(api.load_config(repo / "configs" / "moons.yaml", ["training.epochs=2"]), run_dir=tmp_path / "numpy",
              plots=False)
    assert (tmp_path / "jit" / "last.json").read_bytes() == (tmp_path / "numpy" / "last.json").read_bytes()


def seeded_dropout(rate, seed):
    """A dropout layer whose mask generator is default_rng(seed) (build draws its own from the model's)."""
    from nnctl.engine.layers import Dropout

    layer = Dropout(rate=rate)
    layer.build((), None, "float32")
    layer.rng = np.random.default_rng(seed)
    return layer


def old_dropout(rate, seed, xs, dys):
    """Dropout as the expressions wrote it before its buffers and kernel: a fresh mask per batch."""
    rng, out = np.random.default_rng(seed), []
    for x, dy in zip(xs, dys):
        keep = rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32) >= rate
        mask = keep.astype(x.dtype) / x.dtype.type(1 - rate)
        out.append((x * mask).tobytes() + (dy * mask).tobytes())
    return out, rng.bit_generator.state


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("setting", ["1", "0"])
@pytest.mark.parametrize("rate", [0.2, 0.45, 0.9])  # 0.45: 1 / (1 - rate) rounds differently in float64
def test_dropout_gives_the_fresh_masks_bits_and_stream(dtype, setting, rate, monkeypatch):

    monkeypatch.setenv("NNCTL_JIT", setting)  # 1: one compiled pass each way; 0: NumPy into reused arrays
    rng = np.random.default_rng(3)
    xs, dys = [], []
    for rows in (9, 9, 4, 9):  # a shorter batch (an epoch's last) reuses the first rows of the arrays
        x = rng.normal(size=(rows, 7)).astype(dtype)
        x.flat[::6], x.flat[1::6], x.flat[2] = 0.0, -1.5, np.inf  # x * 0 keeps the sign, inf * 0 is NaN
        xs.append(x)
        dys.append(rng.normal(size=(rows, 7)).astype(dtype))
    layer = seeded_dropout(rate, 11)
    with np.errstate(invalid="ignore"):
        expected, state = old_dropout(rate, 11, xs, dys)
        got = [layer.forward(x, training=True).tobytes() + layer.backward(dy).tobytes() for x, dy in zip(xs, dys)]
    assert got == expected and layer.rng.bit_generator.state == state
    assert (layer.jit is not None) == (setting == "1" and kernels.load() is not None)


@jit_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_dropout_kernel_compares_in_the_arrays_dtype(dtype):
    """u >= rate as NumPy compares a float32 array with a Python float: in float32, where
    float32(0.45) == 0.45 keeps the unit (in float64 it would be below 0.45 and dropped)."""
    jit, kind, rate = kernels.load(), np.dtype(dtype).type, 0.45
    at = kind(rate)
    u = np.array([np.nextafter(at, kind(0)), at, np.nextafter(at, kind(1)), 0.0, 0.999], dtype)
    x = np.array([1.0, -2.0, 3.0, -0.0, np.nan], dtype)
    y = np.empty_like(x)
    jit.dropout_apply(x, u, kind(rate), kind(1) / kind(1 - rate), kind(0), y)
    assert y.tobytes() == (x * ((u >= rate).astype(dtype) / kind(1 - rate))).tobytes()
    assert y[1] != 0  # kept


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", ["int64", "int32", "uint8"])
def test_the_accuracy_count_is_numpys(dtype, labels, monkeypatch):
    """Ties go to the first largest value and a NaN wins, as np.argmax picks; with or without the kernel."""
    from nnctl.engine.metrics import count_correct

    rng = np.random.default_rng(4)
    z = rng.integers(-2, 3, size=(40, 5)).astype(dtype)  # small integers: many ties
    z[3, 2] = z[7, 0] = z[9, 4] = np.nan
    z[11] = -np.inf
    y = rng.integers(0, 5, 40).astype(labels)
    y[[3, 7, 9, 11]] = [2, 0, 4, 0]
    expected = int((np.argmax(z, axis=1) == y).sum())
    scratch = np.empty(40, np.int64), np.empty(40, bool)
    for setting in ("1", "0"):
        monkeypatch.setenv("NNCTL_JIT", setting)
        assert count_correct(z, y, *scratch) == expected
        assert count_correct(z[:13], y[:13], *scratch) == int((np.argmax(z[:13], axis=1) == y[:13]).sum())


def test_dropout_backward_of_another_dtype_multiplies_by_the_forward_mask(monkeypatch):
    """A float64 gradient through a float32 layer: `dy * mask`, the mask made in the input's dtype."""

    monkeypatch.setenv("NNCTL_JIT", "1")
    rng = np.random.default_rng(5)
    x, dy = rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(6, 5))
    layer = seeded_dropout(0.45, 2)
    layer.forward(x, training=True)
    keep = np.random.default_rng(2).random(x.shape, dtype=np.float32) >= 0.45
    expected = dy * (keep.astype(np.float32) / np.float32(1 - 0.45))
    got = layer.backward(dy)
    assert got.dtype == np.float64 and got.tobytes() == expected.tobytes()
