/**
 * A reusable progress reporter: a cli-progress bar with rate and ETA on a TTY, plain periodic lines otherwise
 * (logs, CI, pipes). Used by the data commands and, through the trainer's progress factory, by training
 * (`update(done, total, { loss: "0.42" })`).
 */
import cliProgress from "cli-progress";

export interface ProgressOptions {
  label: string;
  total: number;
  /** Unit for the rate, e.g. "img" → "img/s". */
  unit?: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force bar (true) or lines (false); default: stream.isTTY. */
  tty?: boolean;
  /** Minimum time between plain lines (default 2000 ms). */
  intervalMs?: number;
  /** Counts already done when the run started (e.g. resumed): excluded from the rate. */
  start?: number;
}

export interface Progress {
  update(done: number, total?: number, extra?: Record<string, string | number>): void;
  increment(n?: number): void;
  stop(message?: string): void;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function formatRate(r: number): string {
  if (!Number.isFinite(r)) return "?";
  return r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);
}

/** What both renderings share: counts, rate and ETA since the start, and the extra fields. */
class Counter {
  readonly t0 = performance.now();
  readonly start: number;
  done: number;
  extra: Record<string, string | number> = {};

  constructor(
    public total: number,
    start = 0,
  ) {
    this.start = start;
    this.done = start;
  }

  rate(): number {
    const s = (performance.now() - this.t0) / 1000;
    return s > 0 ? (this.done - this.start) / s : 0;
  }

  eta(): number {
    const r = this.rate();
    return r > 0 ? (this.total - this.done) / r : Number.NaN;
  }

  extraText(): string {
    return Object.entries(this.extra)
      .map(([k, v]) => ` ${k} ${v}`)
      .join("");
  }
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? !!stream.isTTY;
  const counter = new Counter(opts.total, opts.start);
  return tty ? barProgress(opts, stream, counter) : lineProgress(opts, stream, counter);
}

/** A cli-progress bar redrawn in place (terminals). */
function barProgress(opts: ProgressOptions, stream: NodeJS.WritableStream, c: Counter): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${opts.label} [{bar}] {percentage}% {value}/{total} | {rate} ${opts.unit ?? "it"}/s | ETA {etaText}{extra}`,
      stream: stream as NodeJS.WriteStream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(c.total, c.done, { rate: "?", etaText: "?", extra: "" });
  const payload = () => ({ rate: formatRate(c.rate()), etaText: formatDuration(c.eta()), extra: c.extraText() });
  return {
    update(d, t, x) {
      c.done = d;
      if (t !== undefined && t !== c.total) {
        c.total = t;
        bar.setTotal(t);
      }
      if (x) c.extra = x;
      bar.update(d, payload());
    },
    increment(n = 1) {
      c.done += n;
      bar.update(c.done, payload());
    },
    stop(message) {
      bar.update(c.done, payload());
      bar.stop();
      if (message) stream.write(`${message}\n`);
    },
  };
}

/** Plain lines at most every `intervalMs` (logs, CI, pipes), and one at the end. */
function lineProgress(opts: ProgressOptions, stream: NodeJS.WritableStream, c: Counter): Progress {
  const interval = opts.intervalMs ?? 2000;
  let last = 0;
  const line = () => {
    const pct = c.total > 0 ? ((100 * c.done) / c.total).toFixed(1) : "?";
    stream.write(
      `${opts.label}: ${c.done}/${c.total} (${pct}%) ${formatRate(c.rate())} ${opts.unit ?? "it"}/s ` +
        `ETA ${formatDuration(c.eta())}${c.extraText()}\n`,
    );
  };
  const maybe = () => {
    const now = performance.now();
    if (now - last >= interval) {
      last = now;
      line();
    }
  };
  return {
    update(d, t, x) {
      c.done = d;
      if (t !== undefined) c.total = t;
      if (x) c.extra = x;
      maybe();
    },
    increment(n = 1) {
      c.done += n;
      maybe();
    },
    stop(message) {
      line();
      if (message) stream.write(`${message}\n`);
    },
  };
}
