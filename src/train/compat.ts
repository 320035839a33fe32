// One check that a model (or the training store it learns from) and a store of images belong together: the same
// cipher key (by fingerprint; both plain also matches) and the same classes in the same order. `train --test`,
// `train --resume`, `evaluate` and `decrypt-view` all use it, so they refuse the same pairs with the same words.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { StoreMeta } from "../data/index.ts";
import { META_FILE } from "../models/index.ts";

/** What a trained model expects of its input: the key fingerprint it was trained under and its class names. */
export interface ModelIdentity {
  keyFingerprint: string | null;
  classNames: readonly string[];
}

/** The identity of a training store: what a model trained on it expects. */
export function storeIdentity(meta: Pick<StoreMeta, "key" | "classes">): ModelIdentity {
  return { keyFingerprint: meta.key?.fingerprint ?? null, classNames: meta.classes };
}

const short = (fp: string) => `${fp.slice(0, 16)}…`;
const describeKey = (fp: string | null) => (fp ? `ciphertexts of key ${short(fp)}` : "plain images");
const firstClasses = (c: readonly string[]) =>
  `[${c.slice(0, 4).join(", ")}${c.length > 4 ? ", …" : ""}] (${c.length})`;

/**
 * Throws unless the store `storeName` holds what `model` (called `modelName` in the message) expects: images under
 * the same key and the same classes, in order. Messages name the store, both fingerprints (shortened) and classes.
 */
export function checkCompatible(
  model: ModelIdentity,
  modelName: string,
  store: Pick<StoreMeta, "key" | "classes">,
  storeName: string,
): void {
  const storeKey = store.key?.fingerprint ?? null;
  if (storeKey !== model.keyFingerprint) {
    const what = storeKey && model.keyFingerprint ? "encrypted with a different key" : "not encrypted the same way";
    throw new Error(
      `${storeName}: ${what}: it holds ${describeKey(storeKey)}, but ${modelName} expects ` +
        `${describeKey(model.keyFingerprint)}`,
    );
  }
  if (store.classes.join("\n") !== model.classNames.join("\n"))
    throw new Error(
      `${storeName}: classes ${firstClasses(store.classes)} differ from ${modelName}'s ` +
        `${firstClasses(model.classNames)}; a model answers only for the classes it was trained on, in their order`,
    );
}

/** The checkpoint directory of a run (its best/) or the directory itself; a clear error when neither holds one. */
export function checkpointDir(model: string): string {
  if (existsSync(join(model, "best", META_FILE))) return join(model, "best");
  if (existsSync(join(model, META_FILE))) return model;
  const why = !existsSync(model)
    ? "no such directory"
    : existsSync(join(model, "config.json"))
      ? "a run directory without a checkpoint yet (did its training finish an epoch?)"
      : "neither a run directory nor a checkpoint directory";
  throw new Error(`${model}: ${why}; expected ${join(model, "best", META_FILE)} (ercnn train --out) or ${META_FILE}`);
}
