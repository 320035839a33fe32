// Loading published weights into the zoo: safetensors or torch.save (.pth) files, torchvision names as they are,
// timm's ResNet/ConvNeXt names and DenseNet's legacy names ("norm.1") through a mapping, and strict checking that
// lists every missing, unexpected or mis-shaped tensor, except the classifier's when the head is being replaced.
import { open } from "node:fs/promises";
import { nn, type Tensor } from "../torch/index.ts";
import { loadSafetensors } from "../torch/safetensors.ts";
import type { Backbone } from "./common.ts";
import { loadPth } from "./pth.ts";

/** Reads a weights file by content: zip (torch.save) or safetensors. */
export async function loadWeightsFile(path: string): Promise<Map<string, Tensor>> {
  const fh = await open(path, "r");
  const head = new Uint8Array(2);
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x50 && head[1] === 0x4b) return loadPth(path);
  return (await loadSafetensors(path)).tensors;
}

export type WeightNaming = "torchvision" | "timm";

/** timm ConvNeXt name → torchvision name (and whether the tensor needs reshaping, for gamma → layer_scale). */
export function timmConvNeXtName(name: string): string | null {
  let m = name.match(/^stem\.([01])\.(weight|bias)$/);
  if (m) return `features.0.${m[1]}.${m[2]}`;
  m = name.match(/^stages\.(\d+)\.downsample\.([01])\.(weight|bias)$/);
  if (m) {
    const i = Number(m[1]);
    return `features.${2 * i}.${m[2]}.${m[3]}`;
  }
  m = name.match(/^stages\.(\d+)\.blocks\.(\d+)\.(.+)$/);
  if (m) {
    const pre = `features.${2 * Number(m[1]) + 1}.${m[2]}`;
    const rest = m[3];
    const map: Record<string, string> = {
      "conv_dw.weight": "block.0.weight",
      "conv_dw.bias": "block.0.bias",
      "norm.weight": "block.2.weight",
      "norm.bias": "block.2.bias",
      "mlp.fc1.weight": "block.3.weight",
      "mlp.fc1.bias": "block.3.bias",
      "mlp.fc2.weight": "block.5.weight",
      "mlp.fc2.bias": "block.5.bias",
      gamma: "layer_scale",
    };
    return map[rest] ? `${pre}.${map[rest]}` : null;
  }
  m = name.match(/^head\.norm\.(weight|bias)$/);
  if (m) return `classifier.0.${m[1]}`;
  m = name.match(/^head\.fc\.(weight|bias)$/);
  if (m) return `classifier.2.${m[1]}`;
  return null;
}

/** torchvision's legacy DenseNet names ("denselayer1.norm.1.weight" → "denselayer1.norm1.weight"). */
export function denseNetLegacyName(name: string): string {
  return name.replace(
    /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$/,
    (_, a: string, b: string) => `${a}${b}`,
  );
}

/**
 * Renames a state dict to the torchvision names of `family` (ResNet: timm's names are torchvision's; ConvNeXt: timm's
 * stem/stages/head names; DenseNet: legacy "norm.1" names). Strips "module." (DataParallel) prefixes. Tensors are
 * not copied except timm's ConvNeXt gamma [C] → layer_scale [C,1,1] (a reshape).
 */
export function toTorchvisionNames(sd: Map<string, Tensor>, family: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const isTimmConvNeXt =
    family === "convnext" && [...sd.keys()].some((k) => k.startsWith("stages.") || k.startsWith("stem."));
  for (let [k, t] of sd) {
    if (k.startsWith("module.")) k = k.slice(7);
    if (isTimmConvNeXt) {
      const n = timmConvNeXtName(k);
      if (n) {
        if (n.endsWith("layer_scale") && t.ndim === 1) t = t.reshape(t.shape[0], 1, 1);
        k = n;
      }
    } else if (family === "densenet") k = denseNetLegacyName(k);
    out.set(k, t);
  }
  return out;
}

export interface LoadWeightsOptions {
  /** The head is being replaced: the source's classifier tensors are skipped and the model's are not required. */
  replaceHead?: boolean;
  /** Default true: anything missing/unexpected/mis-shaped (outside an ignored head) throws a StateDictError. */
  strict?: boolean;
}

/**
 * Loads a state dict (torchvision, timm, or legacy names) into a backbone. With replaceHead, the classifier
 * (`backbone.headName`) is left as it is (freshly initialised), whatever shape the file's classifier has.
 * Returns the load result; throws nn.StateDictError listing every problem otherwise.
 */
export function loadBackboneWeights(
  model: Backbone,
  source: Map<string, Tensor>,
  o: LoadWeightsOptions = {},
): nn.LoadResult {
  const renamed = toTorchvisionNames(source, model.family);
  const headPrefix = `${model.headName}.`;
  const own = model.stateDict();
  const result: nn.LoadResult = { missing: [], unexpected: [], mismatched: [] };
  const use = new Map<string, Tensor>();
  for (const [k, t] of renamed) {
    if (o.replaceHead && k.startsWith(headPrefix)) continue;
    if (!own.has(k)) {
      result.unexpected.push(k);
      continue;
    }
    use.set(k, t);
  }
  for (const k of own.keys()) {
    if (o.replaceHead && k.startsWith(headPrefix)) continue;
    if (!use.has(k)) result.missing.push(k);
  }
  for (const [k, t] of use) {
    const want = own.get(k)!.shape;
    if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i]))
      result.mismatched.push({ key: k, expected: want, got: t.shape });
  }
  const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
  try {
    if (bad && o.strict !== false)
      throw new nn.StateDictError(result, `loading weights into ${model.constructor.name}`);
    const ok = new Map([...use].filter(([k]) => !result.mismatched.some((m) => m.key === k)));
    model.loadStateDict(ok, { strict: false });
  } finally {
    const originals = new Set(source.values());
    for (const t of renamed.values()) if (!originals.has(t)) t.dispose(); // reshaped copies
  }
  return result;
}

/** Reads a weights file and loads it into the backbone (see loadBackboneWeights). Source tensors are freed. */
export async function loadBackboneWeightsFile(
  model: Backbone,
  path: string,
  o: LoadWeightsOptions = {},
): Promise<nn.LoadResult> {
  const sd = await loadWeightsFile(path);
  try {
    return loadBackboneWeights(model, sd, o);
  } catch (e) {
    if (e instanceof nn.StateDictError) e.message = `${path}: ${e.message}`;
    throw e;
  } finally {
    for (const t of sd.values()) t.dispose();
  }
}
