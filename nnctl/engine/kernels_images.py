"""The compiled image kernels (numba): windows (im2col, col2im), pooling, and a convolution's
fused epilogues; imported only by kernels.load_images(), never at start-up.

Each performs the operations of the NumPy code it replaces (windows.py, pooling.py, conv_steps.py)
in their order, with every scalar already of the arrays' dtype, so its results are the same bits;
kernels_jit.py states the compiler's options (no fastmath, numpy's error model, cached). A window's
taps are visited as the NumPy code visits them, (0, 0) first, row by row.
"""

from .kernels_jit import jit


@jit
def im2col(xp, cols, sh, sw, dh, dw):
    """cols[n, i, j, a, b, c] = xp[n, i * sh + a * dh, j * sw + b * dw, c]: a copy, no arithmetic."""
    n_images, height, width, kh, kw, channels = cols.shape
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                for a in range(kh):
                    y = i * sh + a * dh
                    for b in range(kw):
                        x = j * sw + b * dw
                        for c in range(channels):
                            cols[n, i, j, a, b, c] = xp[n, y, x, c]


@jit
def im2col_runs(xp, cols, sh, sw, dh, channels):
    """im2col where a window row's taps are next to each other (no dilation across): xp (N, Hp, Wp * C)
    and cols (N, Ho, Wo, kh, kw * C) seen flat, each window row a run of kw * C values copied at once.
    (The runs are slices, indexed from 0 in the loop: numba then knows no index is negative, and the
    copy vectorises.)"""
    n_images, height, width, kh, run = cols.shape
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                start = j * sw * channels
                for a in range(kh):
                    src = xp[n, i * sh + a * dh, start:start + run]
                    dst = cols[n, i, j, a]
                    for k in range(run):
                        dst[k] = src[k]


@jit
def col2im(cols, xp, sh, sw, dh, dw):
    """xp[n, i * sh + a * dh, j * sw + b * dw, c] += cols[n, i, j, a, b, c], tap (a, b) by tap: every
    value of xp receives its additions in the order windows.add_patches makes them."""
    n_images, height, width, kh, kw, channels = cols.shape
    for n in range(n_images):
        for a in range(kh):
            for b in range(kw):
                for i in range(height):
                    y = i * sh + a * dh
                    for j in range(width):
                        x = j * sw + b * dw
                        for c in range(channels):
                            xp[n, y, x, c] = xp[n, y, x, c] + cols[n, i, j, a, b, c]


@jit
def col2im_runs(cols, xp, sh, sw, dh, channels):
    """col2im as im2col_runs copies: each window row's run of kw * C values added into xp (N, Hp, Wp * C),
    the windows taken last to first. Every value of xp then receives its additions in col2im's order
    (tap (0, 0) first: of the windows over a value, the later one reaches it with the earlier tap),
    and cols is read in its own order instead of a tap at a time."""
    n_images, height, width, kh, run = cols.shape
    for n in range(n_images):
        for i in range(height - 1, -1, -1):
            for j in range(width - 1, -1, -1):
                start = j * sw * channels
                for a in range(kh):
                    dst = xp[n, i * sh + a * dh, start:start + run]
                    src = cols[n, i, j, a]
                    for k in range(run):
                        dst[k] = dst[k] + src[k]


@jit
def maxpool(xp, out, tap, kh, kw, sh, sw):
    """out: each window's largest value, channel by channel; tap: its index a * kw + b. A value replaces
    the one kept when larger, or when it is NaN and the kept one is not (np.max's NaN, argmax's first)."""
    n_images, height, width, channels = out.shape
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    out[n, i, j, c] = xp[n, i * sh, j * sw, c]
                    tap[n, i, j, c] = 0
                for k in range(1, kh * kw):
                    y, x = i * sh + k // kw, j * sw + k % kw
                    for c in range(channels):
                        v, kept = xp[n, y, x, c], out[n, i, j, c]
                        if v > kept or (v != v and kept == kept):
                            out[n, i, j, c] = v
                            tap[n, i, j, c] = k


@jit
def maxpool_backward(dy, tap, dxp, kw, sh, sw):
    """dxp at each window's kept tap += dy, windows in row-major order (np.add.at's)."""
    n_images, height, width, channels = dy.shape
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    k = tap[n, i, j, c]
                    y, x = i * sh + k // kw, j * sw + k % kw
                    dxp[n, y, x, c] = dxp[n, y, x, c] + dy[n, i, j, c]


@jit
def avgpool(xp, out, count, kh, kw, sh, sw, zero):
    """out = (0 + each tap's value, tap by tap) / count[i, j]: each window's mean of the image's own
    values. zero: 0 of the arrays' dtype."""
    n_images, height, width, channels = out.shape
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    out[n, i, j, c] = zero
                for k in range(kh * kw):
                    y, x = i * sh + k // kw, j * sw + k % kw
                    for c in range(channels):
                        out[n, i, j, c] = out[n, i, j, c] + xp[n, y, x, c]
                for c in range(channels):
                    out[n, i, j, c] = out[n, i, j, c] / count[i, j]


@jit
def avgpool_backward(g, dxp, kh, kw, sh, sw):
    """dxp under tap k of every window += g (the gradient over the count), tap by tap."""
    n_images, height, width, channels = g.shape
    for n in range(n_images):
        for k in range(kh * kw):
            for i in range(height):
                y = i * sh + k // kw
                for j in range(width):
                    x = j * sw + k % kw
                    for c in range(channels):
                        dxp[n, y, x, c] = dxp[n, y, x, c] + g[n, i, j, c]


# ---------------------------------------------------------------- one channel: the patches tap by tap


@jit
def im2col_taps(xp, cols, sh, sw, dh, dw):
    """cols[a, b, n, i, j] = xp[n, i * sh + a * dh, j * sw + b * dw] for images of one channel, xp
    (N, Hp, Wp): each tap's values over every window in a row of their own, an image row at a time
    (with stride 1 a contiguous run, a slice as in im2col_runs)."""
    kh, kw, n_images, height, width = cols.shape
    for a in range(kh):
        for b in range(kw):
            x = b * dw
            for n in range(n_images):
                for i in range(height):
                    dst = cols[a, b, n, i]
                    if sw == 1:
                        src = xp[n, i * sh + a * dh, x:x + width]
                        for j in range(width):
                            dst[j] = src[j]
                    else:
                        for j in range(width):
                            dst[j] = xp[n, i * sh + a * dh, x + j * sw]


@jit
def col2im_taps(cols, xp, sh, sw, dh, dw):
    """xp[n, i * sh + a * dh, j * sw + b * dw] += cols[a, b, n, i, j], tap (a, b) by tap, as col2im."""
    kh, kw, n_images, height, width = cols.shape
    for a in range(kh):
        for b in range(kw):
            x = b * dw
            for n in range(n_images):
                for i in range(height):
                    src = cols[a, b, n, i]
                    if sw == 1:
                        dst = xp[n, i * sh + a * dh, x:x + width]
                        for j in range(width):
                            dst[j] = dst[j] + src[j]
                    else:
                        y = i * sh + a * dh
                        for j in range(width):
                            xp[n, y, x + j * sw] = xp[n, y, x + j * sw] + src[j]


# ---------------------------------------------------------------- a convolution, its relu and its max pool


@jit
def bias_relu_maxpool(z, b, out, tap, kh, kw, zero):
    """The conv2d, relu and maxpool2d layers' forward after the product, in one pass over z (N, H, W, F),
    the product without its bias: each value z + b, then relu's np.maximum(v, 0) (NaN kept, -0.0 to
    +0.0), then the max pooling of kh x kw windows kh x kw apart, unpadded, into out (N, H // kh,
    W // kw, F) and their kept taps into tap, as the max pool kernel compares them."""
    n_images, height, width, channels = out.shape
    for n in range(n_images):
        for i in range(height):
            for a in range(kh):
                y = i * kh + a
                for j in range(width):
                    for e in range(kw):
                        x = j * kw + e
                        if a == 0 and e == 0:
                            for c in range(channels):
                                v = z[n, y, x, c] + b[c]
                                out[n, i, j, c] = v if (v > zero) | (v != v) else zero
                                tap[n, i, j, c] = 0
                        else:
                            k = a * kw + e
                            for c in range(channels):  # without branches, so that it vectorises
                                v = z[n, y, x, c] + b[c]
                                v = v if (v > zero) | (v != v) else zero
                                kept = out[n, i, j, c]
                                take = (v > kept) | ((v != v) & (kept == kept))
                                out[n, i, j, c] = v if take else kept
                                tap[n, i, j, c] = k if take else tap[n, i, j, c]


@jit
def maxpool_relu_backward_bias(dy, out, tap, dz, db, kh, kw, zero, one):
    """Their backward into dz (N, H, W, F), image row by row: the max pool's gradient where each window
    kept its value (0 + dy, as added into a zeroed array) and 0 elsewhere, times relu's mask, 1 where
    the kept value is positive (the kept value is the relu's output there); db += each row of dz in
    order (relu_backward_bias's sum over F > 1 columns, db zeroed by the caller before the first
    rows). The rows and columns past the last window take no gradient."""
    n_images, h, w, channels = dz.shape
    height, width = dy.shape[1], dy.shape[2]
    for n in range(n_images):
        for i in range(height):
            for a in range(kh):
                y = i * kh + a
                for j in range(width):
                    for e in range(kw):
                        x = j * kw + e
                        k = a * kw + e
                        for c in range(channels):
                            g = (zero + dy[n, i, j, c]) * (one if out[n, i, j, c] > zero else zero)
                            d = g if tap[n, i, j, c] == k else zero
                            dz[n, y, x, c] = d
                            db[c] = db[c] + d
                for x in range(width * kw, w):
                    for c in range(channels):
                        dz[n, y, x, c] = zero
                        db[c] = db[c] + zero
        for y in range(height * kh, h):
            for x in range(w):
                for c in range(channels):
                    dz[n, y, x, c] = zero
                    db[c] = db[c] + zero
