"""Where the ciphertext-only attack's objectives put the key, at k = 8 and k = 16 (issue 13): an experiment, not a test.

Second-order matching (what `statisticalAttack` minimises) against a higher-order one (the sparsity of the decrypted
images' pixel differences, what src/cipher/higher-order.ts refines), measured with the true key on one channel.
Float64 NumPy + Debian's PyTorch (autograd, L-BFGS); the images come from `dump.ts` (plain stores -> .npy).

    node --import tsx bench/experiments/landscape/dump.ts runs/audit/t50-secret runs/audit/t50-ref /tmp/landscape
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape basin   8
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape ranking 8
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape radius  8
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape fits    8
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape walk    8 --seed 3
    /usr/bin/python3 bench/experiments/landscape/landscape.py /tmp/landscape disagree 8 --key 2 --channel 1 --starts 3

Conventions follow statistical-attack.ts: whitened blocks u = (p - mu_p) Sp^-1/2 (reference photos) and
v = (c - mu_c) Sc^-1/2 (ciphertexts); the key is an orthogonal M with v = u M; L(r) are the whitened neighbour
cross-covariances (right, down, both diagonals), soft-thresholded at `shrink` x sqrt(n / pairs); the second-order
objective is sum_r |M Lc(r) - Lp(r) M|^2 + |mc - mp M|^2. The decryption of an estimate is c Sc^-1/2 M^T Sp^1/2.
"""
import argparse
import json
import time

import numpy as np
import torch

torch.set_num_threads(2)
OFFSETS = [(0, 1), (1, 0), (1, 1), (1, -1)]  # the attack's neighbour relations (block rows, block columns)
SHRINK = 3.0  # singular-value shrinkage of the whitened L(r), in noise levels (the attack's `shrink`)
EPS = 0.01  # smooth-L1 corner of the sparsity penalty, in pixel units (images in [0, 1])
SPARSE_IMAGES = 150  # secret images the sparsity penalty is measured on
LBFGS_ROUNDS = 40  # L-BFGS rounds of 20 evaluations each (strong Wolfe line search)


def to_blocks(x, k):
    """N, H, W -> N, H/k, W/k, k*k (row-major blocks, the cipher's layout)."""
    n, h, w = x.shape
    return x.reshape(n, h // k, k, w // k, k).transpose(0, 1, 3, 2, 4).reshape(n, h // k, w // k, k * k)


def from_blocks(b, k):
    n, bh, bw, _ = b.shape
    return b.reshape(n, bh, bw, k, k).permute(0, 1, 3, 2, 4).reshape(n, bh * k, bw * k)


def moments(x, k):
    """Mean, covariance, neighbour cross-covariances and second moment of one channel's blocks (float64)."""
    b = to_blocks(x.astype(np.float64), k)
    mu = b.mean(axis=(0, 1, 2))
    c = b - mu
    flat = c.reshape(-1, k * k)
    cov = [flat.T @ flat / len(flat)]
    bh, bw = b.shape[1:3]
    for dy, dx in OFFSETS:
        a = c[:, : bh - dy, max(0, -dx) : bw - max(0, dx)].reshape(-1, k * k)
        d = c[:, dy:, max(0, dx) : bw + min(0, dx)].reshape(-1, k * k)
        cov.append((a.T @ d / len(a), len(a)))
    second = b.reshape(-1, k * k).T @ b.reshape(-1, k * k) / len(flat)
    return mu, cov, second


def sym_powers(s):
    w, v = np.linalg.eigh(s)
    w = np.maximum(w, 1e-12 * w.max())
    return (v * np.sqrt(w)) @ v.T, (v / np.sqrt(w)) @ v.T


def polar(a):
    u, _, vt = np.linalg.svd(a)
    return u @ vt


def shrink(l, tau):
    u, s, vt = np.linalg.svd(l)
    return (u * np.maximum(s - tau, 0)) @ vt


class Channel:
    """One channel of one key: both sides' statistics, the key's own orthogonal factor, and the measures."""

    def __init__(self, data, k, key_index, ch, shrink_by=SHRINK, key_seed="audit"):
        secret = np.load(f"{data}/secret.npy", mmap_mode="r")
        ref = np.load(f"{data}/ref.npy", mmap_mode="r")
        prefix = "" if key_seed == "audit" else f"{key_seed}-"  # dump.ts: key-K-I.npy (audit-K-I), key-hos-K-I.npy
        self.K = np.load(f"{data}/key-{prefix}{k}-{key_index}.npy")[ch]
        self.k, self.n = k, k * k
        mu_s, cov_s, self.second = moments(np.asarray(secret[:, ch]), k)
        mu_p, cov_p, _ = moments(np.asarray(ref[:, ch]), k)
        K = self.K
        self.sp_sqrt, self.sp_isqrt = sym_powers(cov_p[0])
        self.sc_sqrt, self.sc_isqrt = sym_powers(K.T @ cov_s[0] @ K)
        self.Lp, self.Lc = [], []
        for (cp, pairs_p), (cs, pairs_s) in zip(cov_p[1:], cov_s[1:]):
            lp = self.sp_isqrt @ cp @ self.sp_isqrt
            lc = self.sc_isqrt @ (K.T @ cs @ K) @ self.sc_isqrt
            if shrink_by > 0:
                lp = shrink(lp, shrink_by * np.sqrt(self.n / pairs_p))
                lc = shrink(lc, shrink_by * np.sqrt(self.n / pairs_s))
            self.Lp.append(lp)
            self.Lc.append(lc)
        self.mp = mu_p @ self.sp_isqrt
        self.mc = (mu_s @ K) @ self.sc_isqrt
        self.M_key = polar(self.sp_sqrt @ K @ self.sc_isqrt)
        # the sparsity penalty's images: SPARSE_IMAGES secret images, encrypted
        pick = np.random.default_rng(0).choice(len(secret), SPARSE_IMAGES, replace=False)
        plain = np.asarray(secret[np.sort(pick), ch], dtype=np.float64)
        self.plain = torch.tensor(plain)
        self.cipher_blocks = torch.tensor(to_blocks(plain, k) @ K)
        self.A, self.B = torch.tensor(self.sc_isqrt), torch.tensor(self.sp_sqrt)

    # second order
    def objective(self, M):
        v = sum(np.sum((M @ lc - lp @ M) ** 2) for lp, lc in zip(self.Lp, self.Lc))
        return v + np.sum((self.mc - self.mp @ M) ** 2)

    def gradient(self, M):
        g = np.zeros_like(M)
        for lp, lc in zip(self.Lp, self.Lc):
            r = M @ lc - lp @ M
            g += 2 * (r @ lc.T - lp.T @ r)
        return g - 2 * np.outer(self.mp, self.mc - self.mp @ M)

    def predicted_psnr(self, M):
        """PSNR (peak 1) of the estimate's decryption over ALL secret blocks, from their second moment (no clipping)."""
        e = self.K @ (self.sc_isqrt @ M.T @ self.sp_sqrt) - np.eye(self.n)
        return 10 * np.log10(self.n / np.trace(e.T @ self.second @ e))

    # higher order
    def decrypt(self, M):
        return from_blocks(self.cipher_blocks @ (self.A @ M.T @ self.B), self.k)

    def penalty(self, M):
        img = self.decrypt(M)
        d = torch.cat([(img[:, :, 1:] - img[:, :, :-1]).reshape(-1), (img[:, 1:] - img[:, :-1]).reshape(-1)])
        return torch.sqrt(d * d + EPS**2).mean()

    def psnr(self, M):
        """Measured PSNR of the clipped decryption of the SPARSE_IMAGES images."""
        with torch.no_grad():
            img = self.decrypt(torch.as_tensor(M)).clamp(0, 1)
            return float(10 * torch.log10(1 / ((img - self.plain) ** 2).mean()))


def second_order_descent(ch, M, steps):
    """Riemannian conjugate gradients on O(n) (polar retraction, Armijo backtracking) for the second-order objective."""
    tangent = lambda M, g: g - M @ ((M.T @ g + g.T @ M) / 2)  # noqa: E731
    cur = ch.objective(M)
    g = tangent(M, ch.gradient(M))
    d, t = -g, 0.05
    for _ in range(steps):
        slope = np.sum(g * d)
        if slope >= 0:
            d, slope = -g, -np.sum(g * g)
        t *= 2
        while True:
            P = polar(M + t * d)
            v = ch.objective(P)
            if v <= cur + 1e-4 * t * slope or t < 1e-12:
                break
            t /= 2
        if t < 1e-12:
            break
        g2 = tangent(P, ch.gradient(P))
        beta = max(0.0, np.sum(g2 * (g2 - g)) / max(np.sum(g * g), 1e-300))
        d = -g2 + beta * tangent(P, d)
        M, cur, g = P, v, g2
    return M, cur


def minimise_on_group(M0, loss, rounds, tol=None):
    """L-BFGS on loss(M) over M = M0 exp(A - A^T) (stays in M0's component of O(n)): `rounds` step() calls of up to
    20 evaluations, stopping early when one changes the loss by less than `tol`. Returns M as a tensor."""
    M0t = torch.as_tensor(M0)
    A = torch.zeros(M0t.shape, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([A], lr=1, max_iter=20, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = loss(M0t @ torch.matrix_exp(A - A.T))
        value.backward()
        return value

    last = None
    for _ in range(rounds):
        value = float(opt.step(closure))
        if tol is not None and last is not None and abs(last - value) < tol:
            break
        last = value
    with torch.no_grad():
        return M0t @ torch.matrix_exp(A - A.T)


def sparsify(ch, M0, rounds=LBFGS_ROUNDS):
    """L-BFGS on the sparsity penalty (relative to its start value) over M0's component of O(n)."""
    scale = float(ch.penalty(torch.as_tensor(M0)))
    M = minimise_on_group(M0, lambda M: ch.penalty(M) / scale, rounds, tol=1e-7)
    with torch.no_grad():
        if float(ch.decrypt(M).mean()) < 0:  # the penalty cannot tell p from -p; the mean can
            M = -M
        return M.numpy(), float(ch.penalty(M))


def eigen_start(ch, rng):
    """The attack's start: eigenvectors of a random symmetric combination of the L(r), matched in order, signs by an
    Ising pass on the second-order objective (statistical-attack.ts `searchStarts` without its swaps)."""
    a = rng.standard_normal(len(ch.Lp))
    _, ep = np.linalg.eigh(sum(ai * (l + l.T) / 2 for ai, l in zip(a, ch.Lp)))
    _, ec = np.linalg.eigh(sum(ai * (l + l.T) / 2 for ai, l in zip(a, ch.Lc)))
    A = [ep.T @ l @ ep for l in ch.Lp]
    B = [ec.T @ l @ ec for l in ch.Lc]
    s = ising_signs(sum(x * y for x, y in zip(A, B)), (ch.mp @ ep) * (ch.mc @ ec))
    return ep @ np.diag(s) @ ec.T


def ising_signs(W, h):
    """Signs s of the paired basis vectors maximising s^T (W + W^T) s / 2 + h.s, one flip at a time from sign(h):
    W = sum_r A_r * B_r (the relations in the two bases, entrywise), h = the means' components multiplied."""
    W = W + W.T
    s = np.sign(h + 1e-30)
    for _ in range(50):
        changed = False
        for e in range(len(s)):
            new = 1.0 if W[e] @ s - W[e, e] * s[e] + h[e] >= 0 else -1.0
            changed |= new != s[e]
            s[e] = new
        if not changed:
            break
    return s


def down_from_key(ch, checkpoints=(100, 300, 1500)):
    """Points of one second-order descent from the key, at each number of steps in `checkpoints`."""
    M, done = ch.M_key, 0
    for steps in checkpoints:
        M, v = second_order_descent(ch, M, steps - done)
        done = steps
        yield steps, M, v


def cmd_basin(a):
    """Descending the second-order objective FROM THE KEY: its value falls and so does the decryption."""
    for sh in (0.0, 3.0):
        ch = Channel(a.data, a.k, a.key, a.channel, sh)
        row = [f"at the key {ch.objective(ch.M_key):.4f} ({ch.predicted_psnr(ch.M_key):.2f} dB)"]
        row += [f"{steps} steps {v:.4f} ({ch.predicted_psnr(M):.2f} dB)" for steps, M, v in down_from_key(ch)]
        print(f"k={a.k} shrink {sh}: " + " | ".join(row), flush=True)


def cmd_ranking(a):
    """The sparsity penalty at the key, along the second-order descent from it, and at the attack's fits."""
    ch = Channel(a.data, a.k, a.key, a.channel)
    points = {"key": ch.M_key}
    points.update({f"key + {steps} second-order steps": M for steps, M, _ in down_from_key(ch)})
    rng = np.random.default_rng(a.seed)
    for i in range(3):
        points[f"attack fit {i}"] = second_order_descent(ch, eigen_start(ch, rng), 1500)[0]
    for name, M in points.items():
        Mt = torch.tensor(M)
        print(f"{name}: second-order {ch.objective(M):.4f}, penalty {float(ch.penalty(Mt)):.5f}, {ch.psnr(M):.2f} dB")


def cmd_radius(a):
    """L-BFGS on the penalty from random rotations of the key: how wide the key's basin is."""
    ch = Channel(a.data, a.k, a.key, a.channel)
    rng = np.random.default_rng(a.seed)
    for sigma in (0.3, 0.6, 1.0, 1.5):
        S = rng.standard_normal((ch.n, ch.n)) * sigma / np.sqrt(ch.n)
        M0 = torch.matrix_exp(torch.tensor((S - S.T) / 2)).numpy() @ ch.M_key
        t = time.time()
        M, pen = sparsify(ch, M0)
        print(f"sigma {sigma}: start {ch.psnr(M0):.2f} dB -> penalty {pen:.5f}, {ch.psnr(M):.2f} dB ({time.time() - t:.0f} s)")


def cmd_fits(a):
    """The attack's second-order fits (and their reflections into the other component of O(n)), refined by L-BFGS."""
    ch = Channel(a.data, a.k, a.key, a.channel)
    print(f"key: penalty {float(ch.penalty(torch.tensor(ch.M_key))):.5f}, det {np.linalg.det(ch.M_key):+.0f}")
    _, E = np.linalg.eigh(ch.sp_sqrt @ ch.sp_sqrt)
    reflect = np.eye(ch.n) - 2 * np.outer(E[:, 0], E[:, 0])  # across the reference's least-variance direction
    rng = np.random.default_rng(a.seed)
    for i in range(a.starts):
        fit, _ = second_order_descent(ch, eigen_start(ch, rng), 300)
        for name, M0 in (("fit", fit), ("reflected", reflect @ fit)):
            M, pen = sparsify(ch, M0)
            print(f"start {i} {name} (det {np.linalg.det(M0):+.0f}): {ch.psnr(M0):.2f} dB -> penalty {pen:.5f}, {ch.psnr(M):.2f} dB", flush=True)


def best_reflection(ch, M, starts):
    """The Householder reflection I - 2aa^T (a unit vector of the whitened plaintext space) that lowers the penalty
    most, searched by L-BFGS over a from each start. A reflection crosses into the other component of O(n), which no
    continuous descent can do, and flips one direction, as the attack's wrong fits need."""
    Mt, eye = torch.tensor(M), torch.eye(ch.n, dtype=torch.float64)
    base, best = float(ch.penalty(Mt)), (0.0, None)
    for a0 in starts:
        a = torch.tensor(a0, requires_grad=True)
        opt = torch.optim.LBFGS([a], lr=1, max_iter=30, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            u = a / a.norm()
            loss = ch.penalty((eye - 2 * torch.outer(u, u)) @ Mt)
            loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        with torch.no_grad():
            u = a / a.norm()
            change = float(ch.penalty((eye - 2 * torch.outer(u, u)) @ Mt)) - base
        if change < best[0]:
            best = (change, u.numpy().copy())
    return best


def cmd_walk(a):
    """From an attack fit refined by 10 L-BFGS rounds: the best reflection, then L-BFGS again, round after round.
    k = 8, --seed 3: 21.88 dB -> 39.69 dB in 9 rounds on key 1 channel 0 (about 55 min on the loaded 2-core
    machine); on key 2 channel 1 and key 3 channel 2 it stalls near 20 dB (RESULTS.md)."""
    ch = Channel(a.data, a.k, a.key, a.channel)
    print(f"key: penalty {float(ch.penalty(torch.tensor(ch.M_key))):.5f}", flush=True)
    _, E = np.linalg.eigh(ch.sp_sqrt @ ch.sp_sqrt)
    start = second_order_descent(ch, eigen_start(ch, np.random.default_rng(a.seed)), 300)[0]
    M, pen = sparsify(ch, start, rounds=10)
    rng = np.random.default_rng(0)  # the reflection search's random starts
    t = time.time()
    print(f"start: penalty {pen:.5f}, {ch.psnr(M):.2f} dB", flush=True)
    for r in range(a.rounds):
        pca = [E[:, j] for j in range(0, ch.n, max(1, ch.n // a.pca_starts))]
        starts = pca + [rng.standard_normal(ch.n) for _ in range(a.random_starts)]
        change, u = best_reflection(ch, M, starts)
        if u is None:
            print("no reflection lowers the penalty")
            break
        M, pen = sparsify(ch, (np.eye(ch.n) - 2 * np.outer(u, u)) @ M)
        print(f"round {r}: reflection {change:+.5f}, then L-BFGS: penalty {pen:.5f}, {ch.psnr(M):.2f} dB ({time.time() - t:.0f} s)", flush=True)


def disagreement_planes(G, angle=120.0):
    """The planes (and single reversed directions) an orthogonal G rotates by more than `angle` degrees, most rotated
    first: from its complex eigenvectors (real and imaginary parts span a plane) and its real eigenvalues -1."""
    ev, V = np.linalg.eig(G)
    out = []
    for i in range(len(ev)):
        a = np.angle(ev[i])
        if abs(abs(a) - np.pi) < 1e-6:
            out.append((180.0, V[:, i].real[:, None]))
        elif a > np.radians(angle):
            out.append((np.degrees(a), np.linalg.qr(np.stack([V[:, i].real, V[:, i].imag], 1))[0]))
    return sorted(out, key=lambda x: -x[0])


def cmd_disagree(a):
    """Flips proposed by the disagreements between independent second-order fits, each refined by L-BFGS: from the
    lowest-penalty fit, flip one plane where another fit disagrees (rotated by > 120 deg), relax, keep it if the
    penalty falls; repeat until no plane helps. k = 8, --starts 3: key 2 channel 1 21.54 -> 29.00 dB (the reflection
    walk stalled there at 20.09 dB); key 3 channel 2 -> 31.79 dB (the reflection walk: 19.89 dB). About 8-15 min each."""
    ch = Channel(a.data, a.k, a.key, a.channel, key_seed=a.key_seed)
    print(f"key: penalty {float(ch.penalty(torch.tensor(ch.M_key))):.5f}", flush=True)
    t = time.time()
    fits = []
    if a.fits:  # the TypeScript attack's estimate and other fits (attack-hos.ts --cache JSON), relaxed here
        cache = json.load(open(a.fits))
        n = ch.n
        inverses = [np.array(cache["inverse"]).reshape(-1, n, n)[a.channel]]
        inverses += [np.array(f).reshape(n, n) for f in cache["fits"][a.channel]]
        starts = [polar(ch.sp_isqrt @ inv.T @ ch.sc_sqrt) for inv in inverses]
    else:
        starts = [second_order_descent(ch, eigen_start(ch, np.random.default_rng(s)), 300)[0] for s in range(1, a.starts + 1)]
    for i, M0 in enumerate(starts):
        print(f"start {i + 1}: {ch.psnr(M0):.2f} dB", flush=True)
        M, pen = sparsify(ch, M0)
        fits.append((pen, M))
        print(f"fit {i + 1}: penalty {pen:.5f}, {ch.psnr(M):.2f} dB ({time.time() - t:.0f} s)", flush=True)
    fits.sort(key=lambda f: f[0])
    pen, M = fits[0]
    others = [f[1] for f in fits[1:]]
    moved = True
    while moved:
        moved = False
        for other in others:
            for ang, Q in disagreement_planes(other @ M.T):
                M2, p2 = sparsify(ch, (np.eye(ch.n) - 2 * Q @ Q.T) @ M)
                if p2 < pen - 1e-6:
                    pen, M, moved = p2, M2, True
                    print(f"flip {ang:.0f} deg (dim {Q.shape[1]}): penalty {pen:.5f}, {ch.psnr(M):.2f} dB ({time.time() - t:.0f} s)", flush=True)
                    break
            if moved:
                break
    angles = np.sort(np.abs(np.angle(np.linalg.eigvals(ch.M_key @ M.T))))[::-1]
    print(f"end: penalty {pen:.5f}, {ch.psnr(M):.2f} dB; largest rotations left against the key (deg): {np.round(np.degrees(angles[:8:2]))}")


def third_moments(x, chunk=16384):
    """E[x_a x_b x_c] of the rows of x (N, n), as an n x n x n float64 tensor."""
    n = x.shape[1]
    T = torch.zeros(n * n, n, dtype=torch.float64)
    for i in range(0, len(x), chunk):
        c = x[i : i + chunk]
        T += (c[:, :, None] * c[:, None, :]).reshape(len(c), n * n).T @ c
    return (T / len(x)).reshape(n, n, n)


def cubic(T, M):
    """T(M, M, M): the third moments of v = u M given those of u."""
    return torch.einsum("ijk,ia,jb,kc->abc", T, M, M, M)


def cmd_third(a):
    """Third-order moments of the whitened blocks: do they rank the key above the second-order fits, and does
    ascending their agreement f(M) = <T_c, T_p(M, M, M)> / (|T_c| |T_p|) from a fit lead to the key?"""
    ch = Channel(a.data, a.k, a.key, a.channel, key_seed=a.key_seed)
    secret = np.load(f"{a.data}/secret.npy", mmap_mode="r")
    ref = np.load(f"{a.data}/ref.npy", mmap_mode="r")
    bp = to_blocks(np.asarray(ref[:, a.channel], dtype=np.float64), a.k).reshape(-1, ch.n)
    bc = to_blocks(np.asarray(secret[:, a.channel], dtype=np.float64), a.k).reshape(-1, ch.n) @ ch.K
    up = torch.tensor((bp - bp.mean(0)) @ ch.sp_isqrt)
    vc = torch.tensor((bc - bc.mean(0)) @ ch.sc_isqrt)
    t = time.time()
    Tp, Tc = third_moments(up), third_moments(vc)
    half = len(up) // 2
    Tp1, Tp2 = third_moments(up[:half]), third_moments(up[half:])
    nc, npn = Tc.norm(), Tp.norm()
    f = lambda M: float((Tc * cubic(Tp, torch.as_tensor(M))).sum() / (nc * npn))  # noqa: E731
    print(f"moments {time.time() - t:.0f} s; |T_p| {float(npn):.3f} |T_c| {float(nc):.3f}; reference halves agree "
          f"{float((Tp1 * Tp2).sum() / (Tp1.norm() * Tp2.norm())):.4f}; key f {f(ch.M_key):.4f}", flush=True)

    def ascend(M0):
        return minimise_on_group(M0, lambda M: -(Tc * cubic(Tp, M)).sum() / (nc * npn), a.rounds).numpy()

    for seed in range(1, a.starts + 1):
        M = second_order_descent(ch, eigen_start(ch, np.random.default_rng(seed)), 300)[0]
        print(f"fit {seed}: f {f(M):.4f}, {ch.psnr(M):.2f} dB, second order {ch.objective(M):.4f} (key "
              f"{ch.objective(ch.M_key):.4f})", flush=True)
        M2 = ascend(M)
        print(f"  third-order ascent: f {f(M2):.4f}, {ch.psnr(M2):.2f} dB, second order {ch.objective(M2):.4f} "
              f"({time.time() - t:.0f} s)", flush=True)


ENERGY_OFFSETS = {  # whose energy weights a block's covariance: (dy, dx) of the weighting block
    "4": [(0, 0), (0, 1), (1, 0), (0, -1), (-1, 0)],
    "8": [(0, 0), (0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)],
    "12": [(0, 0), (0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (0, 2), (2, 0), (0, -2), (-2, 0)],
}


def shifted(a, dy, dx):
    """Views (g, u) of a block grid (images, bh, bw, ...) pairing each block u with its neighbour g at (dy, dx)."""
    def cut(d, size):
        return slice(max(d, 0), size + min(d, 0)), slice(max(-d, 0), size + min(-d, 0))
    (gy, uy), (gx, ux) = cut(dy, a.shape[1]), cut(dx, a.shape[2])
    return (gy, gx), (uy, ux)


def weighted_relations(x, d, k, modes=("energy",), offsets="4"):
    """Weighted covariances W = E[g u u^T] of whitened blocks x (images, bh, bw, n), with weights g that every
    orthogonal M leaves alone (so W_c = M^T W_p M, like the L(r)): the brightness s = u.d along the whitened mean
    direction d (third order), then for each weighting mode the energy |u|^2 (or its sqrt, log) of the block itself
    and of its neighbours at ENERGY_OFFSETS[offsets] (fourth order)."""
    n = x.shape[-1]
    e0 = (x * x).sum(-1)
    pairs = [(x @ d, x)]
    for mode in modes:
        e = {"energy": e0, "sqrt": e0.sqrt(), "log": (e0 + 1e-3 * n).log()}[mode]
        e = e - e.mean()
        for dy, dx in ENERGY_OFFSETS[offsets]:
            (gy, gx), (uy, ux) = shifted(x, dy, dx)
            pairs.append((e[:, gy, gx], x[:, uy, ux]))
    out = []
    for g, u in pairs:
        u = u.reshape(-1, n)
        W = (u * g.reshape(-1, 1)).T @ u / len(u)
        out.append(W - torch.eye(n, dtype=W.dtype) * W.trace() / n)  # the identity part holds for every M
    return out


def jacobi_sweeps(Ls, Ps, z, m, M, sweeps=3, basis=None, grid=180, tol=1e-9):
    """Coordinate descent with a global search per plane on f(M) = sum_r |M L_r M^T - P_r|^2 + |z M^T - m|^2 over
    orthogonal M (Ls, Ps: (R, n, n) cipher and plain relations, each already scaled by its weight's square root; z, m:
    the whitened means). Each step turns M by a Givens rotation G in one plane (i, j) of `basis` (columns; default
    the identity), choosing the angle that minimises f over a grid of `grid` angles in [-pi, pi): unlike a descent it
    can cross a barrier within the plane (a turn by pi flips two directions at once). Returns (M, f drop)."""
    n = M.shape[0]
    U = np.eye(n) if basis is None else basis
    Mb = U.T @ M
    # V_r = Mb L_r Mb^T in the basis U (Ls are in cipher-whitened coordinates, M maps them to plain-whitened ones)
    V = np.einsum("ia,rab,jb->rij", Mb, Ls, Mb)
    P = np.einsum("ai,rab,bj->rij", U, Ps, U)
    zb, mb = z @ Mb.T, m @ U
    th = np.linspace(-np.pi, np.pi, grid, endpoint=False)
    c, s = np.cos(th), np.sin(th)
    drop = 0.0
    for _ in range(sweeps):
        moved = 0
        for i in range(n - 1):
            for j in range(i + 1, n):
                o = np.ones(n, bool)
                o[[i, j]] = False
                # rows i, j and columns i, j outside the 2x2 block, and the mean: const - 2 (c A + s B)
                a, b, p, q = V[:, i, o], V[:, j, o], P[:, i, o], P[:, j, o]
                A = (a * p + b * q).sum() + (V[:, o, i] * P[:, o, i] + V[:, o, j] * P[:, o, j]).sum()
                B = (a * q - b * p).sum() + (V[:, o, i] * P[:, o, j] - V[:, o, j] * P[:, o, i]).sum()
                A += zb[i] * mb[i] + zb[j] * mb[j]
                B += zb[i] * mb[j] - zb[j] * mb[i]
                Bk = V[:, [i, j]][:, :, [i, j]]  # (R, 2, 2)
                Pk = P[:, [i, j]][:, :, [i, j]]
                G = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (T, 2, 2)
                R2 = np.einsum("tab,rbc,tdc->trad", G, Bk, G) - Pk[None]
                f = -2 * (c * A + s * B) + (R2 ** 2).sum((1, 2, 3))
                t = int(np.argmin(f))
                f0 = -2 * A + ((Bk - Pk) ** 2).sum()
                if f[t] < f0 - tol and t != grid // 2:
                    cc, ss = c[t], s[t]
                    Vi, Vj = V[:, i].copy(), V[:, j].copy()
                    V[:, i], V[:, j] = cc * Vi - ss * Vj, ss * Vi + cc * Vj
                    Vi, Vj = V[:, :, i].copy(), V[:, :, j].copy()
                    V[:, :, i], V[:, :, j] = cc * Vi - ss * Vj, ss * Vi + cc * Vj
                    Mi, Mj = Mb[i].copy(), Mb[j].copy()
                    Mb[i], Mb[j] = cc * Mi - ss * Mj, ss * Mi + cc * Mj
                    zi, zj = zb[i], zb[j]
                    zb[i], zb[j] = cc * zi - ss * zj, ss * zi + cc * zj
                    drop += f0 - f[t]
                    moved += 1
        if not moved:
            break
    return U @ Mb, drop


def joint_diagonaliser(S, sweeps=20, grid=180, U=None):
    """Orthogonal U that makes every symmetric matrix of S (R, n, n) as diagonal as it can at once (U^T S_r U):
    Jacobi sweeps, each plane's angle the best of a `grid` over [0, pi) for the sum of squared diagonals (the
    Frobenius norm is fixed, so that is the off-diagonal energy's minimum). Starts from U (default the identity)."""
    n = S.shape[1]
    U = np.eye(n) if U is None else U.copy()
    A = np.einsum("ai,rab,bj->rij", U, S, U)
    th = np.linspace(0, np.pi, grid, endpoint=False)
    c, s = np.cos(th), np.sin(th)
    for _ in range(sweeps):
        moved = 0
        for i in range(n - 1):
            for j in range(i + 1, n):
                aii, ajj, aij = A[:, i, i], A[:, j, j], A[:, i, j]
                # columns (i, j) turned by [[c, s], [-s, c]]: new diagonals
                bii = np.outer(c * c, aii) - 2 * np.outer(c * s, aij) + np.outer(s * s, ajj)
                bjj = np.outer(s * s, aii) + 2 * np.outer(c * s, aij) + np.outer(c * c, ajj)
                t = int(np.argmax((bii ** 2 + bjj ** 2).sum(1)))
                if t == 0:
                    continue
                cc, ss = c[t], s[t]
                Ai, Aj = A[:, :, i].copy(), A[:, :, j].copy()
                A[:, :, i], A[:, :, j] = cc * Ai - ss * Aj, ss * Ai + cc * Aj
                Ai, Aj = A[:, i].copy(), A[:, j].copy()
                A[:, i], A[:, j] = cc * Ai - ss * Aj, ss * Ai + cc * Aj
                Ui, Uj = U[:, i].copy(), U[:, j].copy()
                U[:, i], U[:, j] = cc * Ui - ss * Uj, ss * Ui + cc * Uj
                moved += 1
        if not moved:
            break
    return U


def assignment(cost):
    """Minimum-cost perfect matching of a square cost matrix (Hungarian method, O(n^3)): match[row] = column."""
    n = len(cost)
    INF = float("inf")
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    p, way = np.zeros(n + 1, int), np.zeros(n + 1, int)  # p[col] = row matched to col (1-based, 0 = none)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = np.full(n + 1, INF), np.zeros(n + 1, bool)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], INF, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    match = np.zeros(n, int)
    for j in range(1, n + 1):
        match[p[j] - 1] = j - 1
    return match


def jd_start(Ps, Cs, mp, mc, rng):
    """A start from joint diagonalisation: both sides' relations (symmetric parts) jointly diagonalised, from the
    eigenvectors of one random combination; the two bases' vectors paired by their signatures (the diagonals
    across all relations, Hungarian); signs by the Ising pass of eigen_start over all relations."""
    Sp, Sc = (Ps + Ps.transpose(0, 2, 1)) / 2, (Cs + Cs.transpose(0, 2, 1)) / 2
    a = rng.standard_normal(len(Ps))
    up = joint_diagonaliser(Sp, U=np.linalg.eigh(np.einsum("r,rij->ij", a, Sp))[1])
    uc = joint_diagonaliser(Sc, U=np.linalg.eigh(np.einsum("r,rij->ij", a, Sc))[1])
    dp = np.einsum("ai,rab,bi->ir", up, Sp, up)
    dc = np.einsum("ai,rab,bi->ir", uc, Sc, uc)
    cost = ((dp[:, None, :] - dc[None, :, :]) ** 2).sum(-1)
    cost += (np.abs(mp @ up)[:, None] - np.abs(mc @ uc)[None, :]) ** 2
    uc = uc[:, assignment(cost)]
    A = np.einsum("ai,rab,bj->rij", up, Ps, up)
    B = np.einsum("ai,rab,bj->rij", uc, Cs, uc)
    return up @ np.diag(ising_signs((A * B).sum(0), (mp @ up) * (mc @ uc))) @ uc.T


def cmd_weighted(a):
    """Weighted covariances as extra second-order-like relations: their noise (two halves of the reference), the key's
    and the fits' mismatch, and a descent of the extended objective from each fit."""
    ch = Channel(a.data, a.k, a.key, a.channel, key_seed=a.key_seed)
    secret = np.load(f"{a.data}/secret.npy", mmap_mode="r")
    ref = np.load(f"{a.data}/ref.npy", mmap_mode="r")
    bp = to_blocks(np.asarray(ref[:, a.channel], dtype=np.float64), a.k)
    bc = to_blocks(np.asarray(secret[:, a.channel], dtype=np.float64), a.k) @ ch.K
    up = torch.tensor((bp - bp.reshape(-1, ch.n).mean(0)) @ ch.sp_isqrt)
    vc = torch.tensor((bc - bc.reshape(-1, ch.n).mean(0)) @ ch.sc_isqrt)
    dp = torch.tensor(ch.mp / np.linalg.norm(ch.mp))
    dc = torch.tensor(ch.mc / np.linalg.norm(ch.mc))
    Wp, Wc = (weighted_relations(up, dp, a.k, a.weighting, a.energy_offsets),
                weighted_relations(vc, dc, a.k, a.weighting, a.energy_offsets))
    h = len(up) // 2
    W1 = weighted_relations(up[:h], dp, a.k, a.weighting, a.energy_offsets)
    W2 = weighted_relations(up[h:], dp, a.k, a.weighting, a.energy_offsets)
    scale = [float(w.norm()) for w in Wp]  # each relation at unit size, like the L(r) (norms about 1)
    Wp = [w / s for w, s in zip(Wp, scale)]
    Wc = [w / s for w, s in zip(Wc, scale)]
    names = ["brightness"] + [f"{m} {o}" for m in a.weighting for o in ENERGY_OFFSETS[a.energy_offsets]]
    Mk = torch.tensor(ch.M_key)
    noise = []
    for i, nm in enumerate(names):
        agree = float((W1[i] * W2[i]).sum() / (W1[i].norm() * W2[i].norm()))
        noise.append(float((W1[i] - W2[i]).norm() / Wp[i].norm() / scale[i]))
        rel = float((Mk.T @ Wp[i] @ Mk - Wc[i]).norm() / Wc[i].norm())
        print(f"{nm}: |W_p| {scale[i]:.3f}, halves agree {agree:.4f}, halves differ {noise[-1]:.4f}, "
              f"key's mismatch {rel:.4f}", flush=True)
    keep = [i for i in range(len(names)) if not (a.no_brightness and names[i] == "brightness")]
    if a.noise_weighted:  # each relation weighted by 1 / its own noise² (halves of the reference; no key needed)
        ref_noise = min(noise[i] for i in keep)
        rw = [(ref_noise / noise[i]) ** 2 for i in range(len(names))]
    else:
        rw = [1.0] * len(names)
    Wp = [Wp[i] * rw[i] ** 0.5 for i in keep]
    Wc = [Wc[i] * rw[i] ** 0.5 for i in keep]
    Lp = [torch.tensor(x) for x in ch.Lp]
    Lc = [torch.tensor(x) for x in ch.Lc]
    mp, mc = torch.tensor(ch.mp), torch.tensor(ch.mc)

    def objective(M, weight):
        v = sum(((M @ lc - lp @ M) ** 2).sum() for lp, lc in zip(Lp, Lc)) + ((mc - mp @ M) ** 2).sum()
        return v + weight * sum(((M @ wc - wp @ M) ** 2).sum() for wp, wc in zip(Wp, Wc))

    def descend(M0, weight):
        return minimise_on_group(M0, lambda M: objective(M, weight), a.rounds).numpy()

    t = time.time()
    for w in a.weights:
        fits = []
        print(f"weight {w}: key {float(objective(Mk, w)):.4f}", flush=True)
        if a.from_key:
            Mf = descend(Mk.numpy(), w)
            print(f"  down from the key: {ch.psnr(Mk.numpy()):.2f} dB -> {ch.psnr(Mf):.2f} dB "
                  f"({float(objective(torch.tensor(Mf), w)):.4f})", flush=True)
        for seed in range(1, a.starts + 1):
            if a.jd_start:
                Ps = np.stack([x.numpy() for x in Lp] + [x.numpy() * w ** 0.5 for x in Wp])
                Cs = np.stack([x.numpy() for x in Lc] + [x.numpy() * w ** 0.5 for x in Wc])
                M = jd_start(Ps, Cs, mp.numpy(), mc.numpy(), np.random.default_rng(seed))
            else:
                M = eigen_start(ch, np.random.default_rng(seed))
            start_value = float(objective(torch.tensor(M), w))
            if not a.direct:
                M = second_order_descent(ch, M, 300)[0]
            M2 = descend(M, w)
            line = (f"  fit {seed}: start {start_value:.4f}, {ch.psnr(M):.2f} dB (extended objective {float(objective(torch.tensor(M), w)):.4f}) "
                    f"-> {ch.psnr(M2):.2f} dB ({float(objective(torch.tensor(M2), w)):.4f})")
            if a.sparsify:
                M3, pen = sparsify(ch, M2)
                line += f" -> sparsity {ch.psnr(M3):.2f} dB (penalty {pen:.5f})"
            print(f"{line} ({time.time() - t:.0f} s)", flush=True)
            if a.jacobi:  # alternate global-angle plane sweeps and L-BFGS while the objective falls
                Ls = np.stack([x.numpy() for x in Lc] + [x.numpy() * w ** 0.5 for x in Wc])
                Ps = np.stack([x.numpy() for x in Lp] + [x.numpy() * w ** 0.5 for x in Wp])
                basis = {"none": None, "L": np.linalg.eigh((Ps[0] + Ps[0].T) / 2)[1],
                         "cov": np.linalg.eigh(ch.sp_sqrt)[1]}[a.jacobi_basis]
                cur = float(objective(torch.tensor(M2), w))
                for rnd in range(a.jacobi):
                    Mj, drop = jacobi_sweeps(Ls, Ps, mc.numpy(), mp.numpy(), M2, sweeps=2, basis=basis)
                    vj = float(objective(torch.tensor(Mj), w))
                    M3 = descend(Mj, w)
                    v3 = float(objective(torch.tensor(M3), w))
                    print(f"    jacobi {rnd + 1}: {cur:.4f} - {drop:.4f} = {vj:.4f} ({ch.psnr(Mj):.2f} dB) -> descent {v3:.4f} "
                          f"({ch.psnr(M3):.2f} dB) ({time.time() - t:.0f} s)", flush=True)
                    if v3 > cur - 1e-5:
                        break
                    M2, cur = M3, v3
            fits.append((float(objective(torch.tensor(M2), w)), M2))
        if a.walk and fits:  # cmd_disagree's walk on the extended objective: flip where other fits disagree
            fits.sort(key=lambda f: f[0])
            val, M = fits[0]
            moved = True
            while moved:
                moved = False
                for _, other in fits[1:]:
                    for ang, Q in disagreement_planes(other @ M.T):
                        M2 = descend((np.eye(ch.n) - 2 * Q @ Q.T) @ M, w)
                        v2 = float(objective(torch.tensor(M2), w))
                        if v2 < val - 1e-6:
                            val, M, moved = v2, M2, True
                            print(f"  flip {ang:.0f} deg (dim {Q.shape[1]}): {val:.4f}, {ch.psnr(M):.2f} dB "
                                  f"({time.time() - t:.0f} s)", flush=True)
                            break
                    if moved:
                        break
            print(f"  walk end: {val:.4f}, {ch.psnr(M):.2f} dB ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("command", choices=["basin", "ranking", "radius", "fits", "walk", "disagree", "third", "weighted"])
    p.add_argument("k", type=int)
    p.add_argument("--key", type=int, default=1)
    p.add_argument("--channel", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--key-seed", default="audit", help="whose keys: audit (attack-audit.ts) or hos (attack-hos.ts)")
    p.add_argument("--fits", help="disagree: start from an attack-hos.ts cache JSON (estimate + other fits)")
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--direct", action="store_true", help="weighted: descend the extended objective from the eigen starts")
    p.add_argument("--sparsify", action="store_true", help="weighted: relax each result on the sparsity penalty")
    p.add_argument("--weighting", nargs="+", default=["energy"], choices=["energy", "sqrt", "log"])
    p.add_argument("--jacobi", type=int, default=0, help="weighted: rounds of global-angle plane sweeps + descent")
    p.add_argument("--jacobi-basis", default="none", choices=["none", "L", "cov"],
                   help="weighted: whose planes the sweeps turn: the whitened axes, the first L's or the plain covariance's eigenvectors")
    p.add_argument("--jd-start", action="store_true", help="weighted: starts from joint diagonalisation of all relations")
    p.add_argument("--walk", action="store_true", help="weighted: flip planes where the fits disagree (cmd_disagree)")
    p.add_argument("--from-key", action="store_true", help="weighted: also descend from the key's own point")
    p.add_argument("--no-brightness", action="store_true", help="weighted: leave out the brightness-weighted relation")
    p.add_argument("--noise-weighted", action="store_true", help="weighted: weight each relation by 1 / its noise²")
    p.add_argument("--energy-offsets", default="4", choices=list(ENERGY_OFFSETS), help="weighted: whose energies weight")
    p.add_argument("--weights", type=float, nargs="*", default=[1.0], help="weighted: the extra relations' weights")
    p.add_argument("--pca-starts", type=int, default=16, help="walk: reflection searches from principal directions")
    p.add_argument("--random-starts", type=int, default=8, help="walk: reflection searches from random directions")
    a = p.parse_args()
    globals()[f"cmd_{a.command}"](a)
