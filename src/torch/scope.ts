// Deterministic memory management: tidy(fn) disposes every tensor created inside fn
// except those it returns (or keep()s); dispose() frees anything reachable from a value.
// Native memory is freed at once instead of whenever V8's GC notices the small JS handles.

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Tracked extends Disposable {
  _kept: boolean;
}

const scopes: Tracked[][] = [];

/** Called by every new Tensor handle. */
export function track(t: Tracked): void {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
}

/** Marks a tensor to survive the enclosing tidy() scopes. Returns it. */
export function keep<T extends { _kept: boolean }>(t: T): T {
  t._kept = true;
  return t;
}

function collect(v: unknown, out: Set<unknown>, depth = 0): void {
  if (v === null || typeof v !== "object" || depth > 4) return;
  if ("_kept" in (v as object) && "dispose" in (v as object)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Runs fn (synchronous) and disposes the tensors it created, except those in its result
 * (a tensor, or arrays / plain objects / Maps of them) and those marked with keep().
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tracked[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t._kept) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error("tidy(fn): fn must be synchronous; await outside tidy()");
  const survivors = new Set<unknown>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.push(t);
    else if (!t._kept) t.dispose();
  }
  return result;
}

/** Disposes every tensor reachable from v (a tensor, arrays, plain objects, Maps). */
export function dispose(v: unknown): void {
  const all = new Set<unknown>();
  collect(v, all);
  for (const t of all) (t as Disposable).dispose();
}

/** Number of tensors tracked by open tidy() scopes (for tests and leak hunting). */
export function trackedCount(): number {
  return scopes.reduce((n, s) => n + s.length, 0);
}
