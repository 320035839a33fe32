// Optimizer state <-> safetensors: state tensors under "state.<index>.<name>", step counts and group
// hyper-parameters as JSON in the metadata (key "ercnn.optimizer").
import { loadSafetensors, type SafetensorsContents, saveSafetensors } from "../safetensors.ts";
import type { Tensor } from "../tensor.ts";
import type { GroupStateDict, Optimizer, OptimizerStateDict, ParamState } from "./optimizer.ts";

export const OPTIMIZER_METADATA_KEY = "ercnn.optimizer";

interface Header {
  format: 1;
  type?: string;
  steps: Record<string, number>;
  paramGroups: GroupStateDict[];
}

/** Flattens an optimizer state dict for saveSafetensors (the tensors are the optimizer's own). */
export function optimizerStateToSafetensors(
  sd: OptimizerStateDict,
  type?: string,
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  for (const [i, s] of sd.state) {
    steps[i] = s.step;
    for (const [k, t] of Object.entries(s.tensors)) tensors.set(`state.${i}.${k}`, t);
  }
  const header: Header = { format: 1, type, steps, paramGroups: sd.paramGroups };
  return { tensors, metadata: { [OPTIMIZER_METADATA_KEY]: JSON.stringify(header) } };
}

/** Rebuilds an optimizer state dict from loadSafetensors()'s result (the tensors are used as they are). */
export function optimizerStateFromSafetensors(c: SafetensorsContents, source = "<buffer>"): OptimizerStateDict {
  const raw = c.metadata[OPTIMIZER_METADATA_KEY];
  if (!raw) throw new Error(`${source}: no '${OPTIMIZER_METADATA_KEY}' metadata: not an ercnn optimizer state`);
  const h = JSON.parse(raw) as Header;
  if (h.format !== 1) throw new Error(`${source}: unsupported optimizer state format ${h.format}`);
  const state = new Map<number, ParamState>();
  for (const [i, step] of Object.entries(h.steps)) state.set(Number(i), { step, tensors: {} });
  for (const [key, t] of c.tensors) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    const s = m ? state.get(Number(m[1])) : undefined;
    if (!m || !s) throw new Error(`${source}: unexpected tensor '${key}' in an optimizer state`);
    s.tensors[m[2]] = t;
  }
  return { state, paramGroups: h.paramGroups };
}

/** Saves an optimizer's state (atomic write); `extra` metadata (e.g. a scheduler's JSON) rides along. */
export async function saveOptimizerState(
  path: string,
  optimizer: Optimizer<any>,
  extra: Record<string, string> = {},
): Promise<void> {
  const { tensors, metadata } = optimizerStateToSafetensors(optimizer.stateDict(), optimizer.constructor.name);
  await saveSafetensors(path, tensors, { ...extra, ...metadata });
}

/** Loads a state saved by saveOptimizerState into `optimizer`; returns the file's metadata. */
export async function loadOptimizerState(path: string, optimizer: Optimizer<any>): Promise<Record<string, string>> {
  const c = await loadSafetensors(path);
  try {
    const sd = optimizerStateFromSafetensors(c, path);
    const h = JSON.parse(c.metadata[OPTIMIZER_METADATA_KEY]) as Header;
    if (h.type && h.type !== optimizer.constructor.name)
      throw new Error(`${path}: a ${h.type} state cannot be loaded into ${optimizer.constructor.name}`);
    optimizer.loadStateDict(sd);
  } finally {
    for (const t of c.tensors.values()) t.dispose();
  }
  return c.metadata;
}
