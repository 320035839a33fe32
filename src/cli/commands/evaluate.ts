import { Command, Option } from "commander";
import { Loader, NORMALIZE_MODES, Store } from "../../data/index.ts";
import { loadCheckpoint, TEST_TIME_AUGMENTS, type TestTimeAugment } from "../../models/index.ts";
import { moduleTo, parseDevice } from "../../torch/device.ts";
import { setNumThreads } from "../../torch/index.ts";
import { checkCompatible, checkpointDir, evaluate, runNormalization } from "../../train/index.ts";
import { positiveInteger } from "../parse.ts";

/** Accuracy and loss of a trained model on a store (e.g. a test split it never saw). */
export function evaluateCommand(): Command {
  return new Command("evaluate")
    .description("accuracy and loss of a trained model on a store, normalised as in training")
    .argument("<model>", "run directory (uses best/) or checkpoint directory")
    .argument("<store>", "store to evaluate on (same key and classes as the training store)")
    .addOption(
      new Option("--tta <how>", "test-time augmentation (flip: average with the mirrored adaptation output)")
        .choices(TEST_TIME_AUGMENTS)
        .default("none"),
    )
    .addOption(
      new Option("--normalize <mode>", "input normalisation (default: the run's recorded statistics)").choices(
        NORMALIZE_MODES,
      ),
    )
    .option("-b, --batch-size <n>", "batch size", positiveInteger, 128)
    .option("--threads <n>", "libtorch threads", positiveInteger)
    .option("--workers <n>", "loader worker threads", positiveInteger, 2)
    .option("--device <name>", "cpu, cuda or cuda:N", "cpu")
    .option("--json", "print one JSON object instead of a sentence")
    .action(async (model: string, storeDir: string, o) => {
      if (o.threads) setNumThreads(o.threads);
      const device = parseDevice(o.device);
      const ckpt = checkpointDir(model);
      const store = Store.open(storeDir);
      const { model: m, meta } = await loadCheckpoint(ckpt);
      try {
        checkCompatible(meta, `the model in ${ckpt}`, store.meta, storeDir);
        m.tta = o.tta as TestTimeAugment;
        const loader = await Loader.fromStore(store, {
          batchSize: o.batchSize,
          shuffle: false,
          workers: o.workers,
          normalization: runNormalization(model, meta, store, o.normalize),
        });
        moduleTo(m, device);
        const r = await evaluate(m, loader, 0, device).finally(() => loader.close());
        // The store's values are finite (checked when read), so a non-finite loss is the model overflowing.
        if (!Number.isFinite(r.loss))
          throw new Error(
            `loss is ${r.loss} on ${storeDir}: the model's outputs overflow on these inputs (values far outside ` +
              "the training store's range, or a diverged checkpoint); no accuracy is reported",
          );
        const out = { accuracy: r.acc, loss: r.loss, images: r.images, tta: o.tta, seconds: r.seconds };
        process.stdout.write(
          o.json
            ? `${JSON.stringify(out)}\n`
            : `accuracy ${(100 * r.acc).toFixed(2)}% (loss ${r.loss.toFixed(4)}) on ${r.images} images of ` +
                `${storeDir}, tta ${o.tta}, ${r.seconds.toFixed(1)} s\n`,
        );
      } finally {
        m.dispose();
      }
    });
}
