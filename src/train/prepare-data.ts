// Step 2 of training: the stores (checked against each other and the key files), the seeded train/validation
// split, the normalisation, the loaders and the eavesdropper's fixed samples.
import type { CipherKey } from "../cipher/index.ts";
import {
  Loader,
  type LoaderOptions,
  type Normalization,
  normalizationFor,
  Store,
  stratifiedSplit,
} from "../data/index.ts";
import { loadKey } from "../data/keyfile.ts";
import { checkCompatible, storeIdentity } from "./compat.ts";
import type { TrainConfig } from "./config.ts";
import { Eavesdropper } from "./eavesdropper.ts";
import { storeLabels } from "./labels.ts";

export interface RunData {
  store: Store;
  testStore: Store | null;
  /** The key folded into the adaptation (the key-holder's oracle), or null. */
  foldKey: CipherKey | null;
  blockSize: number;
  classes: number;
  /** Store positions of the training and validation images. */
  trainIdx: Int32Array;
  valIdx: Int32Array;
  /** The training store's normalisation, used for every split and the test store. */
  norm: Normalization | null;
  trainLoader: Loader;
  valLoader: Loader | null;
  eaves: Eavesdropper;
  /** Loader settings shared by every split (batch size, workers, seed). */
  loaderOptions: Pick<LoaderOptions, "batchSize" | "normalize" | "workers" | "seed">;
  /** The test loader, normalised with the training store's statistics (never the test store's own). */
  testLoader(): Promise<Loader | null>;
  close(): Promise<void>;
}

/** Opens and checks the stores and keys of `cfg`, splits, and starts the loaders. */
export async function prepareData(cfg: TrainConfig): Promise<RunData> {
  const store = Store.open(cfg.train);
  const classes = store.meta.classes.length;
  if (classes < 2)
    throw new Error(
      `${cfg.train}: the store has ${classes} class${classes === 1 ? ` (${store.meta.classes[0]})` : "es"}; ` +
        "a classifier needs at least two (with one, every answer is right and the accuracy says nothing)",
    );
  const testStore = cfg.test ? Store.open(cfg.test) : null;
  if (testStore)
    checkCompatible(storeIdentity(store.meta), `the training store ${cfg.train}`, testStore.meta, cfg.test!);
  if (store.meta.key?.scrambled && cfg.augment === "cipher-safe")
    throw new Error(
      `--augment cipher-safe: ${cfg.train} was encrypted with block scrambling, so moving or mirroring ciphertext ` +
        "blocks no longer corresponds to moving the picture: use --augment none (or plain augmentation on plaintexts)",
    );
  const foldKey = await matchingKey(store, cfg.keyFolded, "keyFolded");
  if (foldKey?.scramble)
    throw new Error(
      `--key-folded: key ${cfg.keyFolded} uses block scrambling; a key-folded adaptation undoes the per-block ` +
        "matrices but not the secret block order, so it would not be the key-holder's bound: use a key without --scramble",
    );
  const evalKey = (await matchingKey(store, cfg.evalKey, "evalKey")) ?? foldKey;
  const blockSize = cfg.blockSize ?? store.meta.key?.blockSize ?? 4;
  const { trainIdx, valIdx } = splitPositions(storeLabels(store), cfg);
  const norm = normalizationFor(cfg.normalize, store.meta);
  const loaderOptions = { batchSize: cfg.batchSize, normalize: cfg.normalize, workers: cfg.workers, seed: cfg.seed };
  const trainLoader = await Loader.fromStore(store, {
    ...loaderOptions,
    indices: trainIdx,
    shuffle: true,
    augment: cfg.augment,
    blockFlip: cfg.blockFlip,
    blockSize,
  });
  const valLoader = valIdx.length
    ? await Loader.fromStore(store, { ...loaderOptions, indices: valIdx, shuffle: false })
    : null;
  const eaves = new Eavesdropper(store, valIdx.length ? valIdx : trainIdx, cfg.decryptSamples, norm, evalKey);
  return {
    store,
    testStore,
    foldKey,
    blockSize,
    classes,
    trainIdx,
    valIdx,
    norm,
    trainLoader,
    valLoader,
    eaves,
    loaderOptions,
    testLoader: async () =>
      testStore ? Loader.fromStore(testStore, { ...loaderOptions, normalization: norm, shuffle: false }) : null,
    close: async () => {
      await trainLoader.close();
      await valLoader?.close();
    },
  };
}

/** The key in `path` (null: none), refused unless it is the key the store was encrypted with. */
async function matchingKey(store: Store, path: string | null, field: string): Promise<CipherKey | null> {
  if (!path) return null;
  const k = await loadKey(path);
  const fp = store.meta.key?.fingerprint;
  if (fp && k.fingerprint !== fp)
    throw new Error(
      `${field}: key ${path} (${k.fingerprint.slice(0, 16)}…) does not match the store's key (${fp.slice(0, 16)}…)`,
    );
  return k;
}

/** The training and validation positions: `limit` images picked stratified by label (seeded), then split. */
function splitPositions(labels: Int32Array, cfg: TrainConfig): { trainIdx: Int32Array; valIdx: Int32Array } {
  let pool: Int32Array = Int32Array.from(labels.keys());
  if (cfg.limit !== null && cfg.limit < labels.length)
    pool = stratifiedSplit(labels, cfg.limit / labels.length, `${cfg.seed}:limit`).val;
  const split = stratifiedSplit(
    Array.from(pool, (i) => labels[i]),
    cfg.valFraction,
    cfg.seed,
  );
  return { trainIdx: Int32Array.from(split.train, (i) => pool[i]), valIdx: Int32Array.from(split.val, (i) => pool[i]) };
}
