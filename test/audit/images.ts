// Synthetic test images for the attack and the audit (no data files): greyscale "scans" with flat backgrounds
// (R = G = B, shapes on a constant page, a little texture) and smooth colour "photos".

/** A small deterministic generator (LCG) in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Greyscale images stored as C channels (all equal): a flat background of one grey level, 2–4 filled discs and
 * rectangles of other levels with soft edges, and weak smooth shading inside the shapes. NCHW float32 in [0, 1].
 * `label` (0..classes−1) fixes the kind of shape drawn, so the images have classes.
 */
export function greyscaleScans(
  n: number,
  c: number,
  size: number,
  seed: number,
  classes = 2,
): {
  x: Float32Array;
  labels: Int32Array;
} {
  const r = lcg(seed);
  const x = new Float32Array(n * c * size * size);
  const labels = new Int32Array(n);
  const plane = new Float32Array(size * size);
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    labels[i] = label;
    const bg = 0.75 + 0.2 * r();
    plane.fill(bg);
    const shapes = 2 + Math.floor(r() * 3);
    for (let s = 0; s < shapes; s++) {
      const cx = size * (0.2 + 0.6 * r());
      const cy = size * (0.2 + 0.6 * r());
      const rad = size * (0.1 + 0.15 * r());
      const level = 0.1 + 0.4 * r();
      const gx = (r() - 0.5) * 0.02;
      const gy = (r() - 0.5) * 0.02;
      for (let y = 0; y < size; y++)
        for (let xx = 0; xx < size; xx++) {
          // class 0: discs, class 1: squares, further classes: rings
          const dx = xx - cx;
          const dy = y - cy;
          let d: number;
          if (label === 0) d = Math.hypot(dx, dy) - rad;
          else if (label === 1) d = Math.max(Math.abs(dx), Math.abs(dy)) - rad;
          else d = Math.abs(Math.hypot(dx, dy) - rad) - rad * 0.35;
          const cover = Math.min(1, Math.max(0, 0.5 - d));
          if (cover > 0) {
            const inside = level + gx * dx + gy * dy;
            plane[y * size + xx] = cover * inside + (1 - cover) * plane[y * size + xx];
          }
        }
    }
    for (let ch = 0; ch < c; ch++) x.set(plane, (i * c + ch) * size * size);
  }
  return { x, labels };
}

/** Smooth, anisotropic random colour images in [0, 1] (energy at low frequencies, more horizontal). */
export function smoothImages(n: number, c: number, size: number, seed: number): Float32Array {
  const r = lcg(seed);
  const x = new Float32Array(n * c * size * size);
  for (let i = 0; i < n; i++) {
    const waves = Array.from({ length: 6 }, () => ({
      fy: r() * 1.5,
      fx: r() * 3,
      ph: r() * 6.283,
      a: 0.05 + 0.05 * r(),
      tint: [r(), r(), r()],
    }));
    const base = 0.3 + 0.4 * r();
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < size; y++)
        for (let xx = 0; xx < size; xx++) {
          let v = base + 0.01 * (r() - 0.5);
          for (const wv of waves)
            v += wv.a * (0.6 + 0.4 * wv.tint[ch % 3]) * Math.cos((6.283 * (wv.fy * y + wv.fx * xx)) / size + wv.ph);
          x[((i * c + ch) * size + y) * size + xx] = Math.min(1, Math.max(0, v));
        }
  }
  return x;
}

/** Cartoon blocks: each k×k block drawn alone (so neighbouring blocks are independent), two flat levels split by a
 * random straight edge, plus faint noise. NCHW float32, one channel. */
export function independentCartoonBlocks(n: number, size: number, k: number, seed: number): Float32Array {
  const r = lcg(seed);
  const x = new Float32Array(n * size * size);
  for (let i = 0; i < n; i++)
    for (let by = 0; by < size / k; by++)
      for (let bx = 0; bx < size / k; bx++) {
        const a = r();
        const b = r();
        const angle = 2 * Math.PI * r();
        const [cx, cy] = [r() * k, r() * k];
        for (let y = 0; y < k; y++)
          for (let q = 0; q < k; q++) {
            const side = (q + 0.5 - cx) * Math.cos(angle) + (y + 0.5 - cy) * Math.sin(angle) > 0;
            x[i * size * size + (by * k + y) * size + bx * k + q] = (side ? a : b) + 0.002 * (r() - 0.5);
          }
      }
  return x;
}

/** Standard normal samples (Box–Muller on lcg). */
export function gaussians(len: number, seed: number): Float64Array {
  const r = lcg(seed);
  return Float64Array.from({ length: len }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}
