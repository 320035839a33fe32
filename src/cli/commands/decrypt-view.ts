import { Command, Option } from "commander";
import { NORMALIZE_MODES, Store } from "../../data/index.ts";
import { loadKey } from "../../data/keyfile.ts";
import { loadCheckpoint } from "../../models/index.ts";
import { checkCompatible, checkpointDir, Eavesdropper, runNormalization, storeLabels } from "../../train/index.ts";
import { positiveInteger } from "../parse.ts";

/** The eavesdropper's view of a trained model: ciphertext | adaptation output | plaintext, and its quality. */
export function decryptViewCommand(): Command {
  return new Command("decrypt-view")
    .description("write ciphertext | adaptation output | plaintext pictures for a trained model, with PSNR/SSIM")
    .argument("<model>", "run directory (uses best/) or checkpoint directory")
    .requiredOption("--store <dir>", "store with the ciphertexts to view")
    .requiredOption("-o, --out <file>", "PNG to write")
    .option("-k, --key <file>", "key to decrypt the plaintext panel and measure quality (the eavesdropper lacks it)")
    .option("-n, --samples <n>", "samples", positiveInteger, 8)
    .addOption(
      new Option("--normalize <mode>", "input normalisation (default: the run's recorded statistics)").choices(
        NORMALIZE_MODES,
      ),
    )
    .action(async (model: string, o) => {
      const store = Store.open(o.store);
      const key = o.key ? await loadKey(o.key) : null;
      if (key) store.checkKey(key);
      const { model: m, meta } = await loadCheckpoint(checkpointDir(model));
      try {
        checkCompatible(meta, `the model in ${checkpointDir(model)}`, store.meta, o.store);
        const norm = runNormalization(model, meta, store, o.normalize);
        const positions = Int32Array.from(storeLabels(store).keys());
        const eaves = new Eavesdropper(store, positions, o.samples, norm, key);
        await eaves.picture(m, o.out);
        const q = eaves.measure(m);
        process.stdout.write(
          `wrote ${o.out} (${eaves.n} samples)` +
            (q.psnr !== undefined
              ? `; PSNR ${q.psnr.toFixed(2)} dB, SSIM ${q.ssim!.toFixed(3)} after a per-channel affine fit`
              : "") +
            (q.mapError !== undefined ? `; composed map vs K⁻¹ relative error ${q.mapError.toFixed(4)}` : "") +
            (q.reid !== undefined
              ? `; re-identified ${(100 * q.reid).toFixed(0)}% among the ${eaves.n} samples (chance ${(100 / eaves.n).toFixed(0)}%)`
              : "") +
            (q.edgeCorrelation !== undefined
              ? `; no-attack leak: ciphertext block activity correlates ${q.edgeCorrelation.toFixed(2)} with the plaintext's`
              : "") +
            "\n",
        );
      } finally {
        m.dispose();
      }
    });
}
