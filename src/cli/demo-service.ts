/**
 * The demo's outsourcing loop: the provider serves a trained run with `ercnn serve`'s own app (in this process, on
 * loopback and a free port) and the client classifies its encrypted test store through it with `ercnn classify`'s
 * client (metadata first, then binary OIP requests carrying ciphertexts and the key's fingerprint only). The
 * accuracy seen through the service must be the one `evaluate` measured on the same checkpoint: both run the best
 * checkpoint with the training normalisation, so any difference is a bug and is reported as one.
 */

import { Store } from "../data/index.ts";
import { createApp } from "../serve/app.ts";
import { classifyRemote, fetchModel } from "../serve/client.ts";
import { readModelInfo } from "../serve/model-info.ts";

export interface ServiceAccuracy {
  /** Fraction of the store's images whose top class through the service is their label. */
  accuracy: number;
  correct: number;
  images: number;
  /** Requests sent (each at most the model's max batch). */
  requests: number;
  /** Wall time from starting the server to its clean shutdown. */
  seconds: number;
  /** Where it listened (the port is free, chosen by the OS). */
  url: string;
}

export interface ServiceOptions {
  /** Model name on the server. */
  name?: string;
  /** Images per request (the server's max batch too). */
  batch?: number;
}

/** Serves `runDir` on 127.0.0.1, classifies every image of the encrypted `storeDir` through it, shuts it down. */
export async function classifyThroughService(
  runDir: string,
  storeDir: string,
  o: ServiceOptions = {},
): Promise<ServiceAccuracy> {
  const t0 = performance.now();
  const batch = o.batch ?? 64;
  const info = await readModelInfo(runDir, { name: o.name ?? "demo" });
  const { app, service, close } = await createApp([info], {
    maxBatch: batch,
    maxQueueDelayUs: 0,
    maxQueue: 64,
    timeoutMs: 60_000,
    bodyLimit: 64 * 1024 * 1024,
    uiDir: null,
    cors: [],
    logLevel: false,
  });
  try {
    await app.listen({ host: "127.0.0.1", port: 0 });
    await service.worker.ready;
    const addr = app.server.address();
    if (!addr || typeof addr === "string") throw new Error("the demo's server has no TCP address");
    const url = `http://127.0.0.1:${addr.port}`;
    const model = await fetchModel(url, info.name);
    const store = Store.open(storeDir);
    // As `ercnn classify` refuses a key that is not the model's: these ciphertexts must be of the model's key.
    if (store.meta.key?.fingerprint !== model.keyFingerprint)
      throw new Error(
        `${storeDir}: encrypted with key ${store.meta.key?.fingerprint.slice(0, 16) ?? "(none: plain)"}, the model ` +
          `'${model.name}' was trained for ${model.keyFingerprint.slice(0, 16) || "plain images"}; nothing was sent`,
      );
    const per = store.shape[0] * store.shape[1] * store.shape[2];
    let correct = 0;
    let images = 0;
    let requests = 0;
    for (let s = 0; s < store.meta.shards.length; s++) {
      const { x, y, n } = store.readShard(s);
      for (let a = 0; a < n; a += batch) {
        const m = Math.min(batch, n - a);
        const top = await classifyRemote(url, model, x.slice(a * per, (a + m) * per), m, 1);
        for (let i = 0; i < m; i++) if (top[i][0].index === y[a + i]) correct++;
        images += m;
        requests++;
      }
    }
    await close();
    return { accuracy: correct / images, correct, images, requests, seconds: (performance.now() - t0) / 1000, url };
  } finally {
    await close(); // idempotent: a failure above still stops the worker thread and frees the port
  }
}

/** Throws, naming both numbers, unless the service's accuracy on `images` images is evaluate's `accuracy`. */
export function checkAgreement(service: ServiceAccuracy, evaluated: { accuracy: number; images: number }): void {
  const expected = Math.round(evaluated.accuracy * evaluated.images);
  if (service.images !== evaluated.images || service.correct !== expected)
    throw new Error(
      `the service classified ${service.correct}/${service.images} encrypted test images correctly, evaluate ` +
        `${expected}/${evaluated.images}: serving and evaluation disagree on the same checkpoint (a bug; please report it)`,
    );
}
