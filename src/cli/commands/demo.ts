import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { generateKey, shortFingerprint } from "../../cipher/index.ts";
import { isStore, readMeta } from "../../data/index.ts";
import { loadKey, saveKey } from "../../io/keyfile.ts";
import { writeReport } from "../../report/index.ts";
import { isFinished, train } from "../../train/index.ts";
import { runAttack } from "./attack.ts";
import { runEncrypt } from "./encrypt.ts";

const int = (v: string) => Number.parseInt(v, 10);

/**
 * The end-to-end demo: the client draws a key and encrypts a CIFAR-10 subset; the provider trains an ER model on the
 * ciphertexts for a few minutes; the eavesdropper's decryption pictures and an HTML report are written.
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description("end to end on CIFAR-10: keygen → encrypt a subset → train an ER model briefly → pictures + report")
    .option("-o, --out <dir>", "demo directory", "runs/demo")
    .option("--train-images <n>", "training images (stratified subset of CIFAR-10 train)", int, 20_000)
    .option("--test-images <n>", "test images (subset of CIFAR-10 test)", int, 2_000)
    .option("--backbone <name>", "backbone (blockresnet_s: block-aligned stem, see README)", "blockresnet_s")
    .option("-e, --epochs <n>", "epochs", int, 8)
    .option("--download", "download CIFAR-10 when no local copy is found")
    .option("--fresh", "start over (new key, stores and run) instead of resuming what is there")
    .action(async (o) => {
      const out = resolve(o.out as string);
      const log = (s: string) => process.stderr.write(`${s}\n`);
      const keyPath = join(out, "key.json");
      const trainStore = join(out, "cifar10-train");
      const testStore = join(out, "cifar10-test");
      const referenceStore = join(out, "cifar10-test-plain");
      const runDir = join(out, "run");
      if (o.fresh) rmSync(out, { recursive: true, force: true });

      // 1. the client's secret key (mode 0600; only its fingerprint is ever printed)
      if (!existsSync(keyPath)) {
        await saveKey(keyPath, await generateKey({ mode: "uniform", blockSize: 4 }));
        log(`[1/5] key: new uniform k=4 key in ${keyPath}`);
      }
      const key = await loadKey(keyPath);
      log(`[1/5] key fingerprint ${shortFingerprint(key)}`);

      // 2. the client encrypts (resumable; a store never mixes keys)
      for (const [split, dir, n] of [
        ["train", trainStore, o.trainImages],
        ["test", testStore, o.testImages],
      ] as const) {
        if (isStore(dir) && readMeta(dir).complete) {
          log(`[2/5] ${split}: ${dir} already encrypted`);
          continue;
        }
        log(`[2/5] encrypting ${n} CIFAR-10 ${split} images → ${dir}`);
        await runEncrypt(undefined, {
          preset: "cifar10",
          split,
          key: keyPath,
          out: dir,
          limit: n,
          download: !!o.download,
        });
      }

      // 3. the provider trains on ciphertexts only; the key is used solely to measure decryption quality
      if (!isFinished(runDir)) {
        log(`[3/5] training ${o.backbone} with the aligned adaptation network (whitening init) for ${o.epochs} epochs`);
        await train(
          {
            train: trainStore,
            test: testStore,
            out: runDir,
            backbone: o.backbone,
            adapt: "aligned",
            adaptInit: "whiten",
            optimizer: "adamw",
            lr: 0.003,
            weightDecay: 0.05,
            batchSize: 64,
            epochs: o.epochs,
            schedule: "cosine",
            warmupEpochs: 0.5,
            labelSmoothing: 0.1,
            normalize: "store",
            augment: "cipher-safe",
            evalKey: keyPath,
          },
          { resume: existsSync(join(runDir, "last")) },
        );
      }

      // 4. the eavesdropper's ciphertext-only attack: the training ciphertexts' statistics against plain photos it may
      //    hold (here CIFAR-10 test images, disjoint from the encrypted training images); the key only measures it
      if (!(isStore(referenceStore) && readMeta(referenceStore).complete)) {
        log(`[4/5] plain reference photos for the attack: CIFAR-10 test → ${referenceStore}`);
        await runEncrypt(undefined, {
          preset: "cifar10",
          split: "test",
          plain: true,
          out: referenceStore,
          download: !!o.download,
        });
      }
      const attackPicture = join(out, "attack.png");
      rmSync(join(out, "attack-key.json"), { force: true });
      const attack = await runAttack({
        store: trainStore,
        reference: referenceStore,
        out: join(out, "attack-key.json"),
        evalKey: keyPath,
        picture: attackPicture,
        quiet: true,
      });
      log(`[4/5] ciphertext-only attack (${attack.seconds.toFixed(0)} s): picture ${attackPicture}`);

      // 5. pictures and report
      const report = await writeReport({ runDirs: [runDir], out: join(out, "report.html"), title: "ercnn demo" });
      const final = JSON.parse(readFileSync(join(runDir, "final.json"), "utf8"));
      log(`[5/5] adaptation-output picture: ${join(runDir, "pictures", "final.png")}`);
      process.stdout.write(
        `test accuracy ${(100 * final.testAcc).toFixed(2)}% on ${final.testImages} encrypted CIFAR-10 images` +
          (final.psnr !== undefined
            ? `; eavesdropper's decryption PSNR ${final.psnr.toFixed(2)} dB, SSIM ${final.ssim.toFixed(3)}`
            : "") +
          `\nciphertext-only attack (no plaintext of the encrypted images): decryption PSNR ${attack.psnr!.toFixed(2)} dB` +
          `\nreport: ${report}\n`,
      );
    });
}
