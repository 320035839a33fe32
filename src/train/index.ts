// Training: config, the trainer (single/multi-round, resume), the eavesdropper's decryption view.
export * from "./compat.ts";
export * from "./config.ts";
export * from "./eavesdropper.ts";
export * from "./epoch.ts";
export * from "./labels.ts";
export * from "./open-run.ts";
export * from "./run-dir.ts";
export * from "./run-normalization.ts";
export * from "./sweep.ts";
export * from "./trainer.ts";
