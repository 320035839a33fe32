/** Gaussian helpers shared by the image code: normalised filter taps and normal draws from a uniform stream. */

/** Normalised 1-D Gaussian taps of odd length `size`, σ = sigma, centred on the middle tap. */
export function gaussianWindow(size: number, sigma = 1.5): Float64Array {
  const r = (size - 1) / 2;
  const g = new Float64Array(size);
  let s = 0;
  for (let i = 0; i < size; i++) {
    const x = i - r;
    g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    s += g[i];
  }
  for (let i = 0; i < size; i++) g[i] /= s;
  return g;
}

/** A standard normal from a uniform [0, 1) stream (Box–Muller on (0, 1]; the pair's second value is dropped). */
export function standardNormal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
