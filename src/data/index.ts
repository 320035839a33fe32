/** The data layer: readers, the encrypted dataset store, splits, presets, download and the training loader. */
export * from "./archive.ts";
export * from "./augment.ts";
export * from "./cifar-binary.ts";
export * from "./decode.ts";
export * from "./download.ts";
export * from "./encrypt-dataset.ts";
export * from "./errors.ts";
export * from "./image-folder.ts";
export * from "./loader.ts";
export * from "./normalize.ts";
export { defaultWorkers, WorkerPool } from "./pool.ts";
export * from "./presets.ts";
export * from "./rng.ts";
export * from "./source.ts";
export * from "./splits.ts";
export * from "./store.ts";
export * from "./store-cipher.ts";
export * from "./study-layout.ts";
