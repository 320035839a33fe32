/** Errors of the data layer. Each names the file or store it is about. */

export class DataError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "DataError";
  }
}

/** A corrupt, truncated or unreadable image (use `--skip-bad` to skip and count them). */
export class BadImageError extends DataError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`bad image ${file}: ${reason}`, "BAD_IMAGE");
    this.name = "BadImageError";
  }
}

/** Image size not divisible by the cipher block size. */
export class BlockSizeError extends DataError {
  constructor(h: number, w: number, k: number) {
    super(
      `image size ${h}×${w} is not divisible by block size ${k} (${h} % ${k} = ${h % k}, ${w} % ${k} = ${w % k}); ` +
        `resize or crop to a multiple of ${k} (e.g. --resize/--crop)`,
      "BLOCK_SIZE",
    );
    this.name = "BlockSizeError";
  }
}

/** A store written with another key than the one given. */
export class KeyMismatchError extends DataError {
  constructor(store: string, storeFp: string | null, keyFp: string | null) {
    super(
      `store ${store} was written with ${storeFp ? `key ${storeFp}` : "no key (plain)"}, ` +
        `but ${keyFp ? `key ${keyFp}` : "no key (plain)"} was given; a store never mixes keys`,
      "KEY_MISMATCH",
    );
    this.name = "KeyMismatchError";
  }
}
