import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { type CipherKey, generateKey, shortFingerprint } from "../../cipher/index.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { isStore, readMeta, Store } from "../../data/index.ts";
import { loadKey, saveKey } from "../../data/keyfile.ts";
import { type AttackSummary, writeReport } from "../../report/index.ts";
import { isFinished, train } from "../../train/index.ts";
import { checkAgreement, classifyThroughService, type ServiceAccuracy } from "../demo-service.ts";
import { formatStages, StageClock } from "../demo-stages.ts";
import { positiveInteger } from "../parse.ts";
import { runAttack } from "./attack.ts";
import { runEncrypt } from "./encrypt.ts";
import { trainProgress } from "./train.ts";

/**
 * The demo's sizes, in one place. Chosen so that the whole story runs in under 3 minutes on an idle 2-core machine:
 * training is most of it (BlockResNet-S with its adaptation network learns at ~140 img/s there, so 7,200 images ×
 * 2 epochs take under 2 minutes); the attack takes ~20 s whatever the store's size, and everything else ~10 s.
 */
export const DEMO = {
  trainImages: 8_000,
  testImages: 1_000,
  epochs: 2,
  backbone: "blockresnet_s",
  /** Plain CIFAR-10 test photos the attacker uses for natural-image statistics (disjoint from the training images). */
  referenceImages: 5_000,
  /** Ciphertexts the attack reads: all of the training store (more ciphertexts, sharper statistics). */
  attackImages: 10_000,
} as const;

const minutes = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface DemoOptions {
  out: string;
  trainImages: number;
  testImages: number;
  backbone: string;
  epochs: number;
  download?: boolean;
  fresh?: boolean;
}

/** The demo directory's files. */
function demoPaths(out: string) {
  return {
    key: join(out, "key.json"),
    trainStore: join(out, "cifar10-train"),
    testStore: join(out, "cifar10-test"),
    referenceStore: join(out, "cifar10-reference-plain"),
    run: join(out, "run"),
    attackKey: join(out, "attack-key.json"),
    attackJson: join(out, "attack.json"),
    attackPicture: join(out, "attack.png"),
    report: join(out, "report.html"),
  };
}
type DemoPaths = ReturnType<typeof demoPaths>;

/** 1. The client's secret key (mode 0600; only its fingerprint is ever printed). */
async function clientKey(p: DemoPaths): Promise<CipherKey> {
  if (!existsSync(p.key)) {
    await saveKey(p.key, await generateKey({ mode: "uniform", blockSize: 4 }));
    log(`[1/5] key: new uniform k=4 key in ${p.key}`);
  }
  const key = await loadKey(p.key);
  log(`[1/5] key fingerprint ${shortFingerprint(key)}`);
  return key;
}

/**
 * 2. The client encrypts (resumable; a store never mixes keys); the attacker stores its plain reference photos.
 * Returns how many stores it wrote now.
 */
async function clientEncrypt(p: DemoPaths, o: DemoOptions): Promise<number> {
  let written = 0;
  for (const [what, dir, n, split, plain] of [
    ["train", p.trainStore, o.trainImages, "train", false],
    ["test", p.testStore, o.testImages, "test", false],
    ["attacker's plain reference photos", p.referenceStore, DEMO.referenceImages, "test", true],
  ] as const) {
    if (isStore(dir) && readMeta(dir).complete) {
      log(`[2/5] ${what}: ${dir} already written`);
      continue;
    }
    log(`[2/5] ${plain ? "storing" : "encrypting"} ${n} CIFAR-10 ${split} images (${what}) → ${dir}`);
    await runEncrypt(undefined, {
      preset: "cifar10",
      split,
      ...(plain ? { plain: true } : { key: p.key }),
      out: dir,
      limit: n,
      download: !!o.download,
    });
    written++;
  }
  return written;
}

/**
 * 3. The provider trains on ciphertexts only; the key is used solely to measure decryption quality. False when an
 * earlier run finished it.
 */
async function providerTrain(p: DemoPaths, o: DemoOptions): Promise<boolean> {
  if (isFinished(p.run)) return false;
  log(`[3/5] training ${o.backbone} with the aligned adaptation network (whitening init) for ${o.epochs} epochs`);
  await train(
    {
      train: p.trainStore,
      test: p.testStore,
      out: p.run,
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
      evalKey: p.key,
    },
    { resume: existsSync(join(p.run, "last")), progress: trainProgress },
  );
  return true;
}

/**
 * 3b. The outsourcing loop: the provider serves the trained model (`ercnn serve`'s app, loopback, a free port) and
 * the client classifies its encrypted test images through it (`ercnn classify`'s client). The accuracy it sees must
 * be the one the training run's evaluation of the same checkpoint recorded; anything else stops the demo.
 */
async function outsource(p: DemoPaths): Promise<ServiceAccuracy> {
  const final = JSON.parse(readFileSync(join(p.run, "final.json"), "utf8"));
  log("[3/5] serving the model on 127.0.0.1; the client classifies its encrypted test images through it");
  const s = await classifyThroughService(p.run, p.testStore);
  checkAgreement(s, { accuracy: final.testAcc, images: final.testImages });
  log(
    `[3/5] ${s.images} encrypted images in ${s.requests} requests to ${s.url}, ${s.seconds.toFixed(1)} s ` +
      "(server stopped); the accuracy agrees with evaluate's",
  );
  return s;
}

/**
 * 4. The eavesdropper's ciphertext-only attack: the training ciphertexts' statistics against plain photos it may
 * hold (CIFAR-10 test images, disjoint from the encrypted training images); the key only measures it. Done once:
 * attack.json keeps the numbers for later runs.
 */
async function eavesdropperAttack(p: DemoPaths): Promise<AttackSummary & { cached?: boolean }> {
  if (existsSync(p.attackJson)) {
    const a = JSON.parse(readFileSync(p.attackJson, "utf8")) as AttackSummary;
    return { ...a, cached: true, ...(existsSync(p.attackPicture) ? { picture: readFileSync(p.attackPicture) } : {}) };
  }
  log("[4/5] ciphertext-only attack: key estimated from ciphertext statistics and plain photos");
  rmSync(p.attackKey, { force: true });
  const r = await runAttack({
    store: p.trainStore,
    reference: p.referenceStore,
    out: p.attackKey,
    evalKey: p.key,
    picture: p.attackPicture,
    // the search keeps ATTACK_DEFAULTS (as ercnn attack): fewer starts can miss the key's basin
    limit: DEMO.attackImages,
  });
  const summary = {
    psnr: r.psnr!,
    images: r.measures!.images,
    seconds: r.seconds,
    encrypted: `${Store.open(p.trainStore).count.toLocaleString("en-US")} encrypted CIFAR-10 training images`,
    reference: `${Store.open(p.referenceStore).count.toLocaleString("en-US")} plain CIFAR-10 test photos`,
  };
  await writeFileAtomic(p.attackJson, `${JSON.stringify(summary, null, 2)}\n`);
  return { ...summary, picture: readFileSync(p.attackPicture) };
}

/** 5. The report, and the numbers on stdout. */
async function demoReport(p: DemoPaths, o: DemoOptions, served: ServiceAccuracy, attack: AttackSummary): Promise<void> {
  const final = JSON.parse(readFileSync(join(p.run, "final.json"), "utf8"));
  const images = (final.trainImages + final.valImages).toLocaleString("en-US");
  await writeReport({
    runDirs: [p.run],
    out: p.report,
    title: "ercnn demo: a CNN trained on encrypted CIFAR-10",
    intro:
      `A client drew a secret key and encrypted ${images} CIFAR-10 training images block by block (each 4×4 block ` +
      `of each channel multiplied by a secret 16×16 matrix). A provider trained ${o.backbone} behind an adaptation ` +
      `network on those ciphertexts alone for ${o.epochs} epochs and classified encrypted test images. As an ` +
      "eavesdropper it then tried to see the images two ways: by looking at its adaptation network's output, and " +
      "by estimating the key from the ciphertexts' statistics and ordinary photos.",
    attack,
  });
  log(`[5/5] adaptation-output picture: ${join(p.run, "pictures", "final.png")}; attack picture: ${p.attackPicture}`);
  process.stdout.write(
    `test accuracy ${(100 * final.testAcc).toFixed(2)}% on ${final.testImages} encrypted CIFAR-10 images` +
      (final.psnr !== undefined
        ? `; the adaptation output shows them at ${final.psnr.toFixed(2)} dB PSNR (SSIM ${final.ssim.toFixed(3)})`
        : "") +
      `\nthrough the service (ercnn serve + the classify client): ${(100 * served.accuracy).toFixed(2)}% ` +
      `(${served.correct}/${served.images}), the same as evaluate's` +
      `\nciphertext-only attack (no key, no plaintext of the encrypted images): decryption PSNR ${attack.psnr.toFixed(2)} dB` +
      `\nreport: ${p.report}\n`,
  );
}

/**
 * The end-to-end demo: the client draws a key and encrypts a CIFAR-10 subset; the provider trains an ER model on the
 * ciphertexts for a few minutes, serves it, and the client classifies its encrypted test images through the service;
 * the eavesdropper looks at the adaptation output and runs the ciphertext-only
 * attack; one HTML report tells the story.
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "end to end on CIFAR-10 in under 3 minutes on 2 idle cores: keygen → encrypt a subset → train an ER model on the " +
        "ciphertexts → serve it and classify the encrypted test images through the service → the adaptation " +
        "output and the ciphertext-only attack → HTML report",
    )
    .option("-o, --out <dir>", "demo directory", "runs/demo")
    .option(
      "--train-images <n>",
      "training images (seeded subset of CIFAR-10 train)",
      positiveInteger,
      DEMO.trainImages,
    )
    .option("--test-images <n>", "test images (seeded subset of CIFAR-10 test)", positiveInteger, DEMO.testImages)
    .option("--backbone <name>", "backbone (blockresnet_s: block-aligned stem, see README)", DEMO.backbone)
    .option("-e, --epochs <n>", "epochs", positiveInteger, DEMO.epochs)
    .option("--download", "download CIFAR-10 when no local copy is found")
    .option("--fresh", "start over (new key, stores and run) instead of resuming what is there")
    .action(async (o: DemoOptions) => {
      const t0 = performance.now();
      const p = demoPaths(resolve(o.out));
      if (o.fresh) rmSync(resolve(o.out), { recursive: true, force: true });
      const clock = new StageClock();
      await clock.time("1 key", () => clientKey(p));
      await clock.time(
        "2 encrypt",
        () => clientEncrypt(p, o),
        (written) => written === 0,
      );
      await clock.time(
        "3 train",
        () => providerTrain(p, o),
        (trained) => !trained,
      );
      const served = await clock.time("3b serve + classify", () => outsource(p));
      const attack = await clock.time(
        "4 attack",
        () => eavesdropperAttack(p),
        (a) => !!a.cached,
      );
      log(`[4/5] ciphertext-only attack: ${attack.psnr.toFixed(2)} dB PSNR in ${minutes(attack.seconds)}`);
      await clock.time("5 report", () => demoReport(p, o, served, attack));
      process.stdout.write(
        `stage times (wall, and CPU time of all threads):\n${formatStages(clock.stages)}\n` +
          `demo took ${minutes((performance.now() - t0) / 1000)} (this run; steps already done are not repeated)\n`,
      );
    });
}
