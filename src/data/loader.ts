/**
 * The training loader: seeded shuffling, batching, cipher-safe or plain augmentation and normalisation over a store,
 * with batches assembled in worker threads ahead of consumption (prefetch). Tensor-free: it yields typed arrays; the
 * trainer turns them into tensors.
 *
 * Augmentation validity on ciphertext: only translations by multiples of the block size k (with zero padding) are
 * offered for encrypted data ("cipher-safe"), because they commute with block-wise encryption; pixel flips and
 * arbitrary crops do not (see augment.ts and docs/store.md for the argument).
 */
import type { AugmentMode, AugmentParams } from "./augment.ts";
import { samplesPerRank, shardOrder } from "./distributed-sampler.ts";
import { DataError } from "./errors.ts";
import type { LoaderWorkerData } from "./loader-worker.ts";
import { type Normalization, type NormalizeMode, normalizationFor } from "./normalize.ts";
import { WorkerPool } from "./pool.ts";
import { permutation } from "./rng.ts";
import { Store } from "./store.ts";

export interface Batch {
  /** N×C×H×W float32 (normalised and augmented). */
  x: Float32Array;
  /** N labels. */
  y: Int32Array;
  n: number;
  shape: [number, number, number, number];
  /** Position of this batch in its epoch. */
  index: number;
  /** Store positions of the batch's images, in batch order. */
  ids?: Int32Array;
}

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: string | number;
  dropLast?: boolean;
  normalize?: NormalizeMode;
  /**
   * Explicit mean/std (or null for none), overriding `normalize`: evaluation data must be normalised with the
   * training store's statistics, not its own.
   */
  normalization?: Normalization | null;
  augment?: AugmentMode;
  /** Largest cipher-safe shift in blocks (default 1) or plain shift in pixels (default 4). */
  maxShift?: number;
  /** Cipher-safe augmentation: also mirror the block order of half the images (see augment.ts). */
  blockFlip?: boolean;
  /** Block size for cipher-safe augmentation of a plain store (defaults to the store's key block size). */
  blockSize?: number;
  workers?: number;
  /** Batches prepared ahead (default 4). */
  prefetch?: number;
  /** Restrict to these store positions (e.g. a train/val split). */
  indices?: ArrayLike<number>;
}

export class Loader implements AsyncIterable<Batch> {
  private pool: WorkerPool | null = null;
  private epoch = 0;
  /** This rank's share of each epoch in data-parallel training (see shard()). */
  private sharding: { rank: number; worldSize: number; padded: boolean } | null = null;
  readonly indices: Int32Array;
  readonly shape: [number, number, number];

  private constructor(
    readonly store: Store,
    private readonly data: { x: Float32Array; y: Int32Array; n: number },
    readonly opts: Required<
      Omit<LoaderOptions, "indices" | "maxShift" | "blockSize" | "blockFlip" | "normalization">
    > & {
      normalization?: Normalization | null;
      maxShift?: number;
      blockFlip?: boolean;
      blockSize?: number;
    },
    indices: ArrayLike<number> | undefined,
  ) {
    this.shape = store.shape;
    this.indices = indices ? Int32Array.from(indices) : Int32Array.from({ length: data.n }, (_, i) => i);
    for (const i of this.indices)
      if (i < 0 || i >= data.n) throw new DataError(`loader index ${i} outside the store's ${data.n} images`, "RANGE");
  }

  /** Opens a store (path or Store) and reads it into shared memory. */
  static async fromStore(store: string | Store, opts: LoaderOptions): Promise<Loader> {
    const st = typeof store === "string" ? Store.open(store) : store;
    if (!st.meta.complete)
      throw new DataError(`store ${st.dir} is incomplete; finish it with ercnn encrypt first`, "INCOMPLETE");
    const full = {
      shuffle: true,
      seed: 0,
      dropLast: false,
      normalize: "none" as NormalizeMode,
      augment: "none" as AugmentMode,
      workers: 2,
      prefetch: 4,
      ...opts,
    };
    if (full.augment === "plain" && st.meta.key)
      throw new DataError(
        "plain augmentation (flips, arbitrary crops) is invalid on ciphertext; use augment: 'cipher-safe'",
        "BAD_AUGMENT",
      );
    if (full.augment === "cipher-safe" && !(opts.blockSize ?? st.meta.blockSize))
      throw new DataError("cipher-safe augmentation of a plain store needs blockSize", "BAD_AUGMENT");
    const data = st.readAll({ shared: true });
    return new Loader(st, data, full, opts.indices);
  }

  /**
   * Restricts every epoch to rank `rank`'s share of the (identical on every rank) seeded order: padded and strided
   * as torch's DistributedSampler does (`padded`, training), or split exactly without repeats (evaluation, so that
   * counts summed over the ranks equal one process's).
   */
  shard(rank: number, worldSize: number, opts: { padded: boolean }): this {
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
      throw new RangeError(`rank must be in 0..${worldSize - 1}, got ${rank}`);
    this.sharding = worldSize > 1 ? { rank, worldSize, padded: opts.padded } : null;
    return this;
  }

  /** Images per epoch (this rank's share when sharded). */
  get epochSize(): number {
    const n = this.indices.length;
    const s = this.sharding;
    if (!s) return n;
    return s.padded ? samplesPerRank(n, s.worldSize) : Math.floor(n / s.worldSize) + (s.rank < n % s.worldSize ? 1 : 0);
  }

  get batchesPerEpoch(): number {
    const b = this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(this.epochSize / b) : Math.ceil(this.epochSize / b);
  }

  private ensurePool(): WorkerPool {
    if (this.pool) return this.pool;
    const norm =
      this.opts.normalization !== undefined
        ? this.opts.normalization
        : normalizationFor(this.opts.normalize, this.store.meta);
    const augment: AugmentParams = {
      mode: this.opts.augment,
      blockSize: this.opts.blockSize ?? this.store.meta.blockSize ?? 1,
      maxShift: this.opts.maxShift,
      blockFlip: this.opts.blockFlip,
    };
    const wd: LoaderWorkerData = {
      role: "loader",
      x: this.data.x,
      y: this.data.y,
      shape: this.shape,
      norm,
      augment,
      seed: this.opts.seed,
    };
    this.pool = new WorkerPool(this.opts.workers, wd);
    return this.pool;
  }

  /** The order of store positions for an epoch (seeded by seed and epoch number). */
  order(epoch: number): Int32Array {
    const full = this.fullOrder(epoch);
    const s = this.sharding;
    if (!s) return full;
    if (s.padded) return shardOrder(full, s.rank, s.worldSize);
    return Int32Array.from({ length: this.epochSize }, (_, i) => full[s.rank + i * s.worldSize]);
  }

  private fullOrder(epoch: number): Int32Array {
    if (!this.opts.shuffle) return this.indices;
    const p = permutation(this.indices.length, this.opts.seed, epoch);
    const out = new Int32Array(p.length);
    for (let i = 0; i < p.length; i++) out[i] = this.indices[p[i]];
    return out;
  }

  /** Iterates one epoch (each iteration advances the epoch counter). */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    yield* this.iterateEpoch(this.epoch++);
  }

  async *iterateEpoch(epoch: number): AsyncGenerator<Batch> {
    const pool = this.ensurePool();
    const order = this.order(epoch);
    const nb = this.batchesPerEpoch;
    const bs = this.opts.batchSize;
    const [c, h, w] = this.shape;
    const pending: Promise<{ x: Float32Array; y: Int32Array; n: number }>[] = [];
    let issued = 0;
    const issue = () => {
      while (issued < nb && pending.length < this.opts.prefetch) {
        const ix = order.slice(issued * bs, Math.min((issued + 1) * bs, order.length));
        const p = pool.run<{ x: Float32Array; y: Int32Array; n: number }>(
          { type: "batch", indices: ix, epoch, batchIndex: issued },
          [ix.buffer],
        );
        p.catch(() => {});
        pending.push(p);
        issued++;
      }
    };
    for (let b = 0; b < nb; b++) {
      issue();
      const r = await pending.shift()!;
      issue();
      const ids = order.subarray(b * bs, Math.min((b + 1) * bs, order.length));
      yield { x: r.x, y: r.y, n: r.n, shape: [r.n, c, h, w], index: b, ids };
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
