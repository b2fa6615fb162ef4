"""The compiled kernels themselves (numba); imported only by kernels.load(), never at start-up.

Every kernel performs, element by element, the operations of the NumPy expressions it replaces
in their order, with every scalar already cast to the arrays' dtype (as NumPy 2 casts a Python
float against a float32 array), so its results are the same bits. `error_model="numpy"`: a
division by zero gives inf/nan as in NumPy, without the check per `/` that stops the loop from
vectorising; no fastmath, which would reassociate and change the bits. Loops run over 1-D
contiguous buffers (a model's packed parameters, gradients and optimizer state).
"""

import numba
import numpy as np

OPTIONS = {"error_model": "numpy", "fastmath": False, "nogil": True}


def jit(function):
    """njit with its machine code cached on disk (numba's cache: NUMBA_CACHE_DIR if set, else the
    __pycache__ beside this file, else a user folder); where none is writable (a read-only
    install), compiled in memory at every run instead."""
    try:
        return numba.njit(cache=True, **OPTIONS)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(**OPTIONS)(function)


@jit
def sgd(p, g, lr):
    for i in range(p.size):
        p[i] = p[i] - g[i] * lr


@jit
def sgd_momentum(p, g, v, momentum, lr, nesterov):
    for i in range(p.size):
        vi = v[i] * momentum
        vi = vi + g[i]
        v[i] = vi
        if nesterov:
            step = vi * momentum
            step = step + g[i]
            step = step * lr
        else:
            step = vi * lr
        p[i] = p[i] - step


@jit
def adam(p, g, m, v, v_max, amsgrad, decay, one_minus_b1, b1, one_minus_b2, b2, step_scale, v_scale, eps):
    """AdamW's decay (p *= decay; 1 for Adam, which leaves every value as it is), then the Adam step
    (optimizers.Adam); v_max is read and written only with amsgrad."""
    for i in range(p.size):
        pi = p[i] * decay
        gi = g[i]
        mi = m[i] * b1
        mi = mi + gi * one_minus_b1
        m[i] = mi
        vi = v[i] * b2
        vi = vi + (gi * gi) * one_minus_b2
        v[i] = vi
        if amsgrad:
            a = v_max[i]
            if not (a >= vi or a != a):  # np.maximum(v_max, v): NaN wins
                a = vi
            v_max[i] = a
            vi = a
        d = np.sqrt(vi * v_scale) + eps
        p[i] = pi - (mi * step_scale) / d


@jit
def bias_relu(z, b, y, zero):
    """The dense epilogue: z += b, then y = np.maximum(z, zeros), in one pass over (batch, n) z.
    zero: 0 of the arrays' dtype."""
    rows, cols = z.shape
    for r in range(rows):
        for c in range(cols):
            zi = z[r, c] + b[c]
            z[r, c] = zi
            # np.maximum(z, zeros): NaN wins, and of two equal values the second, so -0.0 gives +0.0
            y[r, c] = zi if (zi > zero or zi != zi) else zero


PAIRWISE_BLOCK = 128  # NumPy's PW_BLOCKSIZE: below it, eight running sums; above, halves


@jit
def pairwise_sum(a, zero):
    """NumPy's sum of the 1-D array a, in its order (pairwise_sum in numpy/_core/src/umath/
    loops_utils.h.src): from zero one by one below 8 values; up to PAIRWISE_BLOCK, eight running
    sums seeded with the first eight values, added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)),
    then the rest one by one; above it, the two halves (the first a multiple of 8) summed apart."""
    n = a.size
    if n < 8:
        total = zero
        for i in range(n):
            total = total + a[i]
        return total
    if n <= PAIRWISE_BLOCK:
        r = a[:8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] = r[j] + a[i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            total = total + a[i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return pairwise_sum(a[:half], zero) + pairwise_sum(a[half:], zero)


@jit
def relu_backward_bias(dy, y, dz, db, zero, one):
    """dz = dy * (y > 0) and db = np.add.reduce(dz, axis=0), NumPy's bits: db starts at zero (the
    identity NumPy's reduction starts from); over a C-contiguous (batch, n) array NumPy adds the rows
    in order, one after the other, when n > 1 (fused here into the pass that writes dz), but sums
    the one column of n = 1 pairwise (pairwise_sum). zero, one: 0 and 1 of the arrays' dtype (the
    bool cast NumPy multiplies by)."""
    rows, cols = dy.shape
    if cols == 1:
        for r in range(rows):
            dz[r, 0] = dy[r, 0] * (one if y[r, 0] > zero else zero)
        db[0] = zero + pairwise_sum(dz[:, 0], zero)
        return
    for c in range(cols):
        db[c] = zero
    for r in range(rows):
        for c in range(cols):
            d = dy[r, c] * (one if y[r, c] > zero else zero)
            dz[r, c] = d
            db[c] = db[c] + d


@jit
def softmax_shift(z, y, shifted, picked):
    """The cross-entropy's log-sum-exp shift: shifted = z - z.max(axis=1, keepdims=True) and
    picked = shifted[rows, y], in one pass over (batch, classes) z (the exp stays NumPy's).
    False, with nothing meaningful written, where a class index is outside [0, classes): the NumPy
    path then takes the batch and handles it as NumPy indexing does (an IndexError, or -1 as the last)."""
    rows, cols = z.shape
    for r in range(rows):
        if y[r] < 0 or y[r] >= cols:
            return False
    for r in range(rows):
        top = z[r, 0]
        for c in range(1, cols):
            zi = z[r, c]
            if not (top >= zi or top != top):  # np.max: NaN wins
                top = zi
        for c in range(cols):
            shifted[r, c] = z[r, c] - top
        picked[r] = shifted[r, y[r]]
    return True


@jit
def softmax_onehot_grad(e, total, y, n, inv_n):
    """The cross-entropy's gradient in place of e = exp(shifted): e / (total * n), then the true
    class's entry minus 1 / n. n, inv_n: the batch size and 1 / n in the arrays' dtype."""
    rows, cols = e.shape
    for r in range(rows):
        d = total[r] * n
        for c in range(cols):
            e[r, c] = e[r, c] / d
        e[r, y[r]] = e[r, y[r]] - inv_n


@jit
def dropout_apply(x, u, rate, scale, zero, y):
    """Dropout's mask applied in one pass over 1-D x: y = x * m, m = scale where u >= rate, zero
    elsewhere: the values of NumPy's `(u >= rate).astype(dtype) / (1 - rate)` (scale is 1 / (1 -
    rate) in the dtype, and 0 / (1 - rate) is 0), multiplied as `x * mask` multiplies, so x * 0
    keeps its sign and a NaN. The same pass is forward (x the input) and backward (x the gradient)."""
    for i in range(x.size):
        y[i] = x[i] * (scale if u[i] >= rate else zero)


@jit
def count_correct(z, y):
    """How many rows r of (batch, classes) z have np.argmax(z[r]) == y[r] (the first largest value,
    or the first NaN, as np.argmax picks): the training accuracy's count, in one pass."""
    rows, cols = z.shape
    hits = 0
    for r in range(rows):
        top, best = z[r, 0], 0
        for c in range(1, cols):
            zi = z[r, c]
            if not (top >= zi or top != top):
                top, best = zi, c
        if best == y[r]:
            hits += 1
    return hits
