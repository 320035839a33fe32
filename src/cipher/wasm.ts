/**
 * A WebAssembly SIMD kernel for the block cipher's hot loop, assembled at runtime from this TypeScript source
 * (no binary blobs, no Node built-ins; runs wherever `WebAssembly` with SIMD128 is available: Node ≥ 16,
 * current browsers). Where the platform lacks SIMD the caller falls back to the plain TypeScript loops.
 *
 * Per channel plane the work is: gather all k×k blocks into a packed float64 panel P ([tile of 4 blocks][i][block]),
 * a register-blocked GEMM Q = P·M (4 blocks × 4 float64 output columns per inner step, two f64x2 vectors), and a
 * scatter of Q back into the image layout. Images are float32; both directions accumulate in float64 (see
 * block.ts: float32 accumulation would cost accuracy that decryption, amplifying by cond(K), exposes).
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

const op = {
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (x: number) => [0x20, ...uleb(x)],
  set: (x: number) => [0x21, ...uleb(x)],
  tee: (x: number) => [0x22, ...uleb(x)],
  i32c: (v: number) => [0x41, ...sleb(v)],
  f32load: (off = 0) => [0x2a, 2, ...uleb(off)],
  f64load: (off = 0) => [0x2b, 3, ...uleb(off)],
  f32store: (off = 0) => [0x38, 2, ...uleb(off)],
  f64store: (off = 0) => [0x39, 3, ...uleb(off)],
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
const load64splat = (off: number) => op.simd(0x0a, 3, ...uleb(off));
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;
/** Bytes per panel element (float64). */
const ESZ = 8;

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

/** A function body under construction: e(op.get(0), op.i32c(1), …) appends instructions. */
function emitter(): { body: number[]; e: (...xs: number[][]) => void } {
  const body: number[] = [];
  return {
    body,
    e: (...xs) => {
      for (const x of xs) body.push(...x);
    },
  };
}

/**
 * GEMM over packed float64 panels. params: P, M, Q, ntiles, n, npad (byte pointers; counts in elements).
 * P: [ntiles][n][4]; M: [n][npad]; Q: [ntiles*4][npad]. Each inner step: 4 blocks × 4 output columns.
 */
function gemmFn(): Fn {
  const [P, M, Q, NT, N, NP] = [0, 1, 2, 3, 4, 5];
  const [t, jt, i, pp, kp, q, rowB, tileB] = [6, 7, 8, 9, 10, 11, 12, 13];
  const acc = [14, 15, 16, 17, 18, 19, 20, 21];
  const [a, b0, b1] = [22, 23, 24];
  const { body, e } = emitter();
  // rowB = npad*ESZ ; tileB = n*4*ESZ
  e(op.get(NP), op.i32c(ESZ), op.i32mul, op.set(rowB));
  e(op.get(N), op.i32c(4 * ESZ), op.i32mul, op.set(tileB));
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
    e(op.get(pp), load64splat(b * ESZ), op.set(a));
    e(op.get(acc[2 * b]), op.get(a), op.get(b0), op.simd(F64X2_MUL), op.simd(F64X2_ADD), op.set(acc[2 * b]));
    e(op.get(acc[2 * b + 1]), op.get(a), op.get(b1), op.simd(F64X2_MUL), op.simd(F64X2_ADD), op.set(acc[2 * b + 1]));
  }
  e(op.get(pp), op.i32c(4 * ESZ), op.i32add, op.set(pp));
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
 * The block walk shared by gather and scatter: for every block (by, bx) of a channel plane and every pixel (r, q)
 * in it, `pixel()` emits the move between the image address (local PIX) and the panel address (local PAN), then both
 * advance. params: image, rowB (bytes between image rows), pixB (bytes between pixels in a row), bh, bw, k, count,
 * panel. `blockStart()` sets PAN for block number g; `panStep` is the panel stride between a block's elements.
 */
function blockWalkFn(blockStart: (g: number) => number[][], pixel: number[][], panStep: number): Fn {
  const [IMG, ROWB, PIXB, BH, BW, K] = [0, 1, 2, 3, 4, 5];
  const [by, bx, r, q, g, PAN, PIX, rowBase, blkB] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
  const { body, e } = emitter();
  e(op.get(K), op.get(PIXB), op.i32mul, op.set(blkB)); // bytes between horizontally adjacent blocks
  e(op.i32c(0), op.set(g), op.i32c(0), op.set(by));
  e(op.loop); // BY
  // rowBase = IMG + by*k*rowB
  e(op.get(IMG), op.get(by), op.get(K), op.i32mul, op.get(ROWB), op.i32mul, op.i32add, op.set(rowBase));
  e(op.i32c(0), op.set(bx));
  e(op.loop); // BX
  e(...blockStart(g), op.set(PAN));
  e(op.i32c(0), op.set(r));
  e(op.loop); // R
  // PIX = rowBase + r*rowB + bx*blkB
  e(op.get(rowBase), op.get(r), op.get(ROWB), op.i32mul, op.i32add);
  e(op.get(bx), op.get(blkB), op.i32mul, op.i32add, op.set(PIX));
  e(op.get(K), op.set(q));
  e(op.loop); // Q
  e(...pixel);
  e(op.get(PAN), op.i32c(panStep), op.i32add, op.set(PAN));
  e(op.get(PIX), op.get(PIXB), op.i32add, op.set(PIX));
  e(op.get(q), op.i32c(1), op.i32sub, op.tee(q), op.brIf(0));
  e(op.end);
  e(op.get(r), op.i32c(1), op.i32add, op.tee(r), op.get(K), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(g), op.i32c(1), op.i32add, op.set(g));
  e(op.get(bx), op.i32c(1), op.i32add, op.tee(bx), op.get(BW), op.i32ltu, op.brIf(0));
  e(op.end);
  e(op.get(by), op.i32c(1), op.i32add, op.tee(by), op.get(BH), op.i32ltu, op.brIf(0));
  e(op.end);
  return { params: new Array(8).fill(I32), locals: new Array(9).fill(I32), body };
}

/**
 * Gather a channel plane's float32 blocks into the packed float64 panel.
 * params: src, rowB, pixB, bh, bw, k, n (= k²), P. Block g starts at P + (g>>2)*n*4*ESZ + (g&3)*ESZ.
 */
function gatherFn(): Fn {
  const [N, P, PAN, PIX] = [6, 7, 13, 14];
  const start = (g: number) => [
    [...op.get(P), ...op.get(g), ...op.i32c(2), ...op.i32shru, ...op.get(N), ...op.i32mul],
    [...op.i32c(4 * ESZ), ...op.i32mul, ...op.i32add],
    [...op.get(g), ...op.i32c(3), ...op.i32and, ...op.i32c(ESZ), ...op.i32mul, ...op.i32add],
  ];
  return blockWalkFn(start, [op.get(PAN), op.get(PIX), op.f32load(0), op.f64promote, op.f64store(0)], 4 * ESZ);
}

/**
 * Scatter Q ([block][npad], float64) back into the float32 image layout.
 * params: dst, rowB, pixB, bh, bw, k, npad, Q. Block g starts at Q + g*npad*ESZ.
 */
function scatterFn(): Fn {
  const [NP, Q, PAN, PIX] = [6, 7, 13, 14];
  const start = (g: number) => [
    [...op.get(Q), ...op.get(g), ...op.get(NP), ...op.i32mul, ...op.i32c(ESZ), ...op.i32mul, ...op.i32add],
  ];
  return blockWalkFn(start, [op.get(PIX), op.get(PAN), op.f64load(0), op.f32demote, op.f32store(0)], ESZ);
}

const KERNELS = ["gemm64", "gather64", "scatter64"] as const;

function buildModule(): Uint8Array<ArrayBuffer> {
  const fns: Fn[] = [gemmFn(), gatherFn(), scatterFn()];
  // one type per distinct param count (all return nothing)
  const sigs: string[] = [];
  const typeIdx = fns.map((f) => {
    const key = f.params.join(",");
    if (!sigs.includes(key)) sigs.push(key);
    return sigs.indexOf(key);
  });
  const types = sigs.map((s) => {
    const ps = s.split(",").map(Number);
    return [0x60, ...uleb(ps.length), ...ps, 0];
  });
  const bytes = [
    ...MAGIC,
    ...section(1, vec(types)),
    ...section(2, vec([[...str("env"), ...str("mem"), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec(typeIdx.map((i) => uleb(i)))),
    ...section(7, vec(KERNELS.map((name, i) => [...str(name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => codeEntry(f)))),
  ];
  return new Uint8Array(bytes);
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * The smallest module that uses a SIMD instruction (one function: `v128.const 0; drop`): it validates exactly where
 * the platform supports SIMD128, which tells "no SIMD here" apart from a bug in our kernel module.
 */
function simdProbe(): Uint8Array<ArrayBuffer> {
  const fn: Fn = { params: [], locals: [], body: [...v128zero(), 0x1a] };
  return new Uint8Array([
    ...MAGIC,
    ...section(1, vec([[0x60, 0, 0]])),
    ...section(3, vec([uleb(0)])),
    ...section(10, vec([codeEntry(fn)])),
  ]);
}

type Kern = (...args: number[]) => void;
export interface WasmKernel {
  memory: WebAssembly.Memory;
  gemm64: Kern;
  gather64: Kern;
  scatter64: Kern;
}

let cached: WasmKernel | null | undefined;

/**
 * The SIMD kernel, or null where the platform has no WebAssembly or no SIMD128 (the plain TypeScript loops run
 * instead). A module of ours that fails to validate or instantiate on a SIMD platform is a bug: it throws.
 */
export function wasmKernel(): WasmKernel | null {
  if (cached !== undefined) return cached;
  const W = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (!W?.validate(simdProbe())) {
    cached = null;
    return cached;
  }
  const bytes = buildModule();
  if (!W.validate(bytes)) throw new Error("cipher/wasm.ts: the assembled SIMD kernel does not validate (a bug)");
  const memory = new W.Memory({ initial: 16 });
  const ex = new W.Instance(new W.Module(bytes), { env: { mem: memory } }).exports as unknown as Omit<
    WasmKernel,
    "memory"
  >;
  cached = { memory, ...ex };
  return cached;
}

/** Grows the kernel memory to at least `bytes` bytes. */
export function ensureMemory(k: WasmKernel, bytes: number): void {
  const have = k.memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / 65536);
  k.memory.grow(pages);
}
