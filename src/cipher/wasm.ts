/**
 * A WebAssembly SIMD kernel for the block cipher's hot loop, assembled at runtime from this TypeScript source
 * (no binary blobs, no Node built-ins; runs wherever `WebAssembly` with SIMD128 is available: Node ≥ 16,
 * current browsers). If SIMD is unavailable the caller falls back to the plain TypeScript loops.
 *
 * Per channel plane the work is: gather all k×k blocks into a packed panel P ([tile of 4 blocks][i][block]),
 * a register-blocked GEMM Q = P·M (4 blocks × 8 float32 / 4 float64 output columns per inner step), and a scatter
 * of Q back into the image layout. Element type is float32 (encryption) or float64 (decryption, so that K⁻¹ is
 * applied in float64); images are float32 either way.
 */

// ---------- tiny assembler ----------
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
function str(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
const V128 = 0x7b;
const F32 = 0x7d;
const F64 = 0x7c;

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (x: number) => [0x20, ...uleb(x)],
  set: (x: number) => [0x21, ...uleb(x)],
  tee: (x: number) => [0x22, ...uleb(x)],
  i32c: (v: number) => [0x41, ...sleb(v)],
  f32load: (off = 0) => [0x2a, 2, ...uleb(off)],
  f64load: (off = 0) => [0x2b, 3, ...uleb(off)],
  f32store: (off = 0) => [0x38, 2, ...uleb(off)],
  f64store: (off = 0) => [0x39, 3, ...uleb(off)],
  i32eqz: [0x45],
  i32ne: [0x47],
  i32ltu: [0x49],
  i32add: [0x6a],
  i32sub: [0x6b],
  i32mul: [0x6c],
  i32and: [0x71],
  i32shru: [0x76],
  f32demote: [0xb6],
  f64promote: [0xbb],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v128load = (off = 0) => op.simd(0x00, 4, ...uleb(off));
const v128store = (off = 0) => op.simd(0x0b, 4, ...uleb(off));
const v128zero = () => op.simd(0x0c, ...new Array(16).fill(0));
const load32splat = (off: number) => op.simd(0x09, 2, ...uleb(off));
const load64splat = (off: number) => op.simd(0x0a, 3, ...uleb(off));
const F32X4_ADD = 0xe4;
const F32X4_MUL = 0xe6;
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;

interface Fn {
  params: number[];
  locals: number[]; // one entry per local (type)
  body: number[];
}

function codeEntry(f: Fn): number[] {
  // group consecutive equal local types
  const groups: number[][] = [];
  for (const t of f.locals) {
    const last = groups[groups.length - 1];
    if (last && last[1] === t) last[0]++;
    else groups.push([1, t]);
  }
  const body = [...uleb(groups.length), ...groups.flatMap(([c, t]) => [...uleb(c), t]), ...f.body, ...op.end];
  return [...uleb(body.length), ...body];
}

/**
 * GEMM over packed panels. params: P, M, Q, ntiles, n, npad (byte pointers; counts in elements).
 * P: [ntiles][n][4] elements; M: [n][npad]; Q: [ntiles*4][npad].
 */
function gemmFn(esz: 4 | 8): Fn {
  const [P, M, Q, NT, N, NP] = [0, 1, 2, 3, 4, 5];
  const [t, jt, i, pp, kp, q, rowB, tileB] = [6, 7, 8, 9, 10, 11, 12, 13];
  const acc = [14, 15, 16, 17, 18, 19, 20, 21];
  const [a, b0, b1] = [22, 23, 24];
  const splat = esz === 4 ? load32splat : load64splat;
  const MUL = esz === 4 ? F32X4_MUL : F64X2_MUL;
  const ADD = esz === 4 ? F32X4_ADD : F64X2_ADD;
  const body: number[] = [];
  const e = (...xs: number[][]) => {
    for (const x of xs) body.push(...x);
  };
  // rowB = npad*esz ; tileB = n*4*esz
  e(op.get(NP), op.i32c(esz), op.i32mul, op.set(rowB));
  e(op.get(N), op.i32c(4 * esz), op.i32mul, op.set(tileB));
  e(op.i32c(0), op.set(t));
  e(op.loop); // T
  e(op.i32c(0), op.set(jt));
  e(op.loop); // J
  for (const r of acc) e(v128zero(), op.set(r));
  // pp = P + t*tileB ; kp = M + jt
  e(op.get(P), op.get(t), op.get(tileB), op.i32mul, op.i32add, op.set(pp));
  e(op.get(M), op.get(jt), op.i32add, op.set(kp));
  e(op.get(N), op.set(i));
  e(op.loop); // I
  e(op.get(kp), v128load(0), op.set(b0));
  e(op.get(kp), v128load(16), op.set(b1));
  for (let b = 0; b < 4; b++) {
    e(op.get(pp), splat(b * esz), op.set(a));
    e(op.get(acc[2 * b]), op.get(a), op.get(b0), op.simd(MUL), op.simd(ADD), op.set(acc[2 * b]));
    e(op.get(acc[2 * b + 1]), op.get(a), op.get(b1), op.simd(MUL), op.simd(ADD), op.set(acc[2 * b + 1]));
  }
  e(op.get(pp), op.i32c(4 * esz), op.i32add, op.set(pp));
  e(op.get(kp), op.get(rowB), op.i32add, op.set(kp));
  e(op.get(i), op.i32c(1), op.i32sub, op.tee(i), op.brIf(0));
  e(op.end);
  // q = Q + t*4*rowB + jt
  e(op.get(Q), op.get(t), op.i32c(4), op.i32mul, op.get(rowB), op.i32mul, op.i32add, op.get(jt), op.i32add, op.set(q));
  for (let b = 0; b < 4; b++) {
    e(op.get(q), op.get(acc[2 * b]), v128store(0));
    e(op.get(q), op.get(acc[2 * b + 1]), v128store(16));
    if (b < 3) e(op.get(q), op.get(rowB), op.i32add, op.set(q));
  }
  e(op.get(jt), op.i32c(32), op.i32add, op.tee(jt), op.get(rowB), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(t), op.i32c(1), op.i32add, op.tee(t), op.get(NT), op.i32ltu, op.brIf(0));
  e(op.end);
  return {
    params: [I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, ...acc.map(() => V128), V128, V128, V128],
    body,
  };
}

/**
 * Gather a channel plane's blocks into the packed panel.
 * params: src, rowB (bytes between image rows), pixB (bytes between pixels in a row), bh, bw, k, n, P.
 */
function gatherFn(esz: 4 | 8): Fn {
  const [SRC, ROWB, PIXB, BH, BW, K, N, P] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [by, bx, r, q, g, s, d, rowBase, blkB] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
  const body: number[] = [];
  const e = (...xs: number[][]) => {
    for (const x of xs) body.push(...x);
  };
  e(op.get(K), op.get(PIXB), op.i32mul, op.set(blkB)); // bytes between horizontally adjacent blocks
  e(op.i32c(0), op.set(g), op.i32c(0), op.set(by));
  e(op.loop); // BY
  // rowBase = SRC + by*k*rowB
  e(op.get(SRC), op.get(by), op.get(K), op.i32mul, op.get(ROWB), op.i32mul, op.i32add, op.set(rowBase));
  e(op.i32c(0), op.set(bx));
  e(op.loop); // BX
  // d = P + (g>>2)*n*4*esz + (g&3)*esz
  e(op.get(P), op.get(g), op.i32c(2), op.i32shru, op.get(N), op.i32mul, op.i32c(4 * esz), op.i32mul, op.i32add);
  e(op.get(g), op.i32c(3), op.i32and, op.i32c(esz), op.i32mul, op.i32add, op.set(d));
  e(op.i32c(0), op.set(r));
  e(op.loop); // R
  // s = rowBase + r*rowB + bx*blkB
  e(
    op.get(rowBase),
    op.get(r),
    op.get(ROWB),
    op.i32mul,
    op.i32add,
    op.get(bx),
    op.get(blkB),
    op.i32mul,
    op.i32add,
    op.set(s),
  );
  e(op.get(K), op.set(q));
  e(op.loop); // Q
  if (esz === 4) e(op.get(d), op.get(s), op.f32load(0), op.f32store(0));
  else e(op.get(d), op.get(s), op.f32load(0), op.f64promote, op.f64store(0));
  e(op.get(d), op.i32c(4 * esz), op.i32add, op.set(d));
  e(op.get(s), op.get(PIXB), op.i32add, op.set(s));
  e(op.get(q), op.i32c(1), op.i32sub, op.tee(q), op.brIf(0));
  e(op.end);
  e(op.get(r), op.i32c(1), op.i32add, op.tee(r), op.get(K), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(g), op.i32c(1), op.i32add, op.set(g));
  e(op.get(bx), op.i32c(1), op.i32add, op.tee(bx), op.get(BW), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(by), op.i32c(1), op.i32add, op.tee(by), op.get(BH), op.i32ltu, op.brIf(0));
  e(op.end);
  return { params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: new Array(9).fill(I32), body };
}

/**
 * Scatter Q ([block][npad]) back into the image layout (float32).
 * params: dst, rowB, pixB, bh, bw, k, npad, Q.
 */
function scatterFn(esz: 4 | 8): Fn {
  const [DST, ROWB, PIXB, BH, BW, K, NP, Q] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [by, bx, r, q, g, s, d, rowBase, blkB] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
  const body: number[] = [];
  const e = (...xs: number[][]) => {
    for (const x of xs) body.push(...x);
  };
  e(op.get(K), op.get(PIXB), op.i32mul, op.set(blkB));
  e(op.i32c(0), op.set(g), op.i32c(0), op.set(by));
  e(op.loop);
  e(op.get(DST), op.get(by), op.get(K), op.i32mul, op.get(ROWB), op.i32mul, op.i32add, op.set(rowBase));
  e(op.i32c(0), op.set(bx));
  e(op.loop);
  // s = Q + g*npad*esz
  e(op.get(Q), op.get(g), op.get(NP), op.i32mul, op.i32c(esz), op.i32mul, op.i32add, op.set(s));
  e(op.i32c(0), op.set(r));
  e(op.loop);
  e(
    op.get(rowBase),
    op.get(r),
    op.get(ROWB),
    op.i32mul,
    op.i32add,
    op.get(bx),
    op.get(blkB),
    op.i32mul,
    op.i32add,
    op.set(d),
  );
  e(op.get(K), op.set(q));
  e(op.loop);
  if (esz === 4) e(op.get(d), op.get(s), op.f32load(0), op.f32store(0));
  else e(op.get(d), op.get(s), op.f64load(0), op.f32demote, op.f32store(0));
  e(op.get(s), op.i32c(esz), op.i32add, op.set(s));
  e(op.get(d), op.get(PIXB), op.i32add, op.set(d));
  e(op.get(q), op.i32c(1), op.i32sub, op.tee(q), op.brIf(0));
  e(op.end);
  e(op.get(r), op.i32c(1), op.i32add, op.tee(r), op.get(K), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(g), op.i32c(1), op.i32add, op.set(g));
  e(op.get(bx), op.i32c(1), op.i32add, op.tee(bx), op.get(BW), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(by), op.i32c(1), op.i32add, op.tee(by), op.get(BH), op.i32ltu, op.brIf(0));
  e(op.end);
  return { params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: new Array(9).fill(I32), body };
}

function buildModule(): Uint8Array<ArrayBuffer> {
  const fns: [string, Fn][] = [
    ["gemm32", gemmFn(4)],
    ["gemm64", gemmFn(8)],
    ["gather32", gatherFn(4)],
    ["gather64", gatherFn(8)],
    ["scatter32", scatterFn(4)],
    ["scatter64", scatterFn(8)],
  ];
  // one type per distinct param count (all return nothing)
  const sigs: string[] = [];
  const typeIdx = fns.map(([, f]) => {
    const key = f.params.join(",");
    let idx = sigs.indexOf(key);
    if (idx < 0) {
      sigs.push(key);
      idx = sigs.length - 1;
    }
    return idx;
  });
  const types = sigs.map((s) => {
    const ps = s.split(",").map(Number);
    return [0x60, ...uleb(ps.length), ...ps, 0];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...str("env"), ...str("mem"), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec(typeIdx.map((i) => uleb(i)))),
    ...section(7, vec(fns.map(([name], i) => [...str(name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map(([, f]) => codeEntry(f)))),
  ];
  void F32;
  void F64;
  void op.block;
  void op.br;
  void op.i32eqz;
  void op.i32ne;
  return new Uint8Array(bytes);
}

type Kern = (...args: number[]) => void;
export interface WasmKernel {
  memory: WebAssembly.Memory;
  gemm32: Kern;
  gemm64: Kern;
  gather32: Kern;
  gather64: Kern;
  scatter32: Kern;
  scatter64: Kern;
}

let cached: WasmKernel | null | undefined;

/** The SIMD kernel, or null when WebAssembly SIMD is unavailable (or disabled with ERCNN_CIPHER_NO_WASM). */
export function wasmKernel(): WasmKernel | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const W = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    if (!W) return cached;
    const bytes = buildModule();
    if (!W.validate(bytes)) return cached;
    const memory = new W.Memory({ initial: 16 });
    const inst = new W.Instance(new W.Module(bytes), { env: { mem: memory } });
    const ex = inst.exports as unknown as Omit<WasmKernel, "memory">;
    cached = { memory, ...ex };
  } catch {
    cached = null;
  }
  return cached;
}

/** Grows the kernel memory to at least `bytes` bytes. */
export function ensureMemory(k: WasmKernel, bytes: number): void {
  const have = k.memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / 65536);
  k.memory.grow(pages);
}
