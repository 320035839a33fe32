// nn.Module: named parameters, buffers and children, train/eval, state dicts, as in PyTorch.
import { noGrad } from "../autograd.ts";
import { dispose, keep } from "../scope.ts";
import type { Tensor } from "../tensor.ts";

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

/** Error thrown by a strict loadStateDict(); `result` lists every problem. */
export class StateDictError extends Error {
  constructor(
    readonly result: LoadResult,
    where = "loadStateDict",
  ) {
    const parts: string[] = [];
    if (result.missing.length) parts.push(`missing keys: ${result.missing.join(", ")}`);
    if (result.unexpected.length) parts.push(`unexpected keys: ${result.unexpected.join(", ")}`);
    if (result.mismatched.length)
      parts.push(
        `shape mismatches: ${result.mismatched.map((m) => `${m.key} expects [${m.expected}] but got [${m.got}]`).join("; ")}`,
      );
    super(`${where}: ${parts.join("; ")}`);
    this.name = "StateDictError";
  }
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #modules = new Map<string, Module | null>();

  abstract forward(...args: any[]): any;

  /** Registers (or replaces) a parameter: a kept leaf tensor with requiresGrad = true. */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    const old = this.#params.get(name);
    if (old && old !== t) old.dispose();
    if (t) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad = true;
    }
    this.#params.set(name, t);
    return t;
  }

  /** Registers (or replaces) a buffer (running statistics and the like); kept, no gradient. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, persistent = true): T {
    const old = this.#buffers.get(name);
    if (old && old !== t) old.dispose();
    if (t) keep(t);
    this.#buffers.set(name, t);
    if (!persistent) this.#nonPersistent.add(name);
    return t;
  }

  /** Registers (or replaces) a child module under `name` (its state-dict prefix). */
  registerModule<M extends Module | null>(name: string, m: M): M {
    this.#modules.set(name, m);
    return m;
  }

  /** Replaces a child and disposes the old one's tensors (used to swap backbones between rounds). */
  replaceModule<M extends Module>(name: string, m: M): M {
    const old = this.#modules.get(name);
    if (old && old !== m) old.dispose();
    return this.registerModule(name, m);
  }

  getModule(name: string): Module | null | undefined {
    return this.#modules.get(name);
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [k, m] of this.#modules) if (m) yield [k, m];
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k);
  }
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  *namedParameters(prefix = "", recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods)
      for (const [k, t] of m.#params) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        yield [p ? `${p}.${k}` : k, t];
      }
  }
  parameters(recurse = true): Tensor[] {
    return [...this.namedParameters("", recurse)].map(([, t]) => t);
  }

  *namedBuffers(prefix = "", recurse = true): Generator<[string, Tensor]> {
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) for (const [k, t] of m.#buffers) if (t) yield [p ? `${p}.${k}` : k, t];
  }
  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers("", recurse)].map(([, t]) => t);
  }

  /** Total number of parameter elements (optionally only trainable ones). */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (freeze with false). */
  requiresGrad_(v = true): this {
    for (const p of this.parameters()) p.requiresGrad = v;
    return this;
  }

  /** Clears gradients (sets them to null, like zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order. The tensors are the
   * module's own (not copies): do not dispose them.
   */
  stateDict(prefix = ""): StateDict {
    const out: StateDict = new Map();
    const visit = (m: Module, p: string) => {
      for (const [k, t] of m.#params) if (t) out.set(p + k, t);
      for (const [k, t] of m.#buffers) if (t && !m.#nonPersistent.has(k)) out.set(p + k, t);
      for (const [k, c] of m.#modules) if (c) visit(c, `${p}${k}.`);
    };
    visit(this, prefix);
    return out;
  }

  /**
   * Copies tensors into this module's parameters and buffers (dtype converted, shapes must match).
   * strict: any missing, unexpected or mis-shaped key throws a StateDictError listing all of them;
   * otherwise the matching keys are loaded and the problems returned.
   */
  loadStateDict(sd: StateDict | Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    for (const k of own.keys()) if (!src.has(k)) result.missing.push(k);
    for (const k of src.keys()) if (!own.has(k)) result.unexpected.push(k);
    for (const [k, t] of own) {
      const s = src.get(k);
      if (s && !sameShape(s.shape, t.shape)) result.mismatched.push({ key: k, expected: t.shape, got: s.shape });
    }
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
    if (bad && opts.strict !== false) throw new StateDictError(result);
    noGrad(() => {
      for (const [k, t] of own) {
        const s = src.get(k);
        if (s && sameShape(s.shape, t.shape)) t.copy_(s);
      }
    });
    return result;
  }

  /** Applies fn to every module (children first, like PyTorch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Frees every parameter and buffer of this module tree. */
  dispose(): void {
    dispose([...this.parameters(), ...this.buffers()]);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
