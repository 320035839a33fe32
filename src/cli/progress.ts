/**
 * A reusable progress reporter: a cli-progress bar with rate and ETA on a TTY, plain periodic lines otherwise
 * (logs, CI, pipes). Used by the data commands; reusable for training (`update(done, total, { loss: "0.42" })`).
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

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? !!stream.isTTY;
  const unit = opts.unit ?? "it";
  const t0 = performance.now();
  const start = opts.start ?? 0;
  let total = opts.total;
  let done = start;
  let extra: Record<string, string | number> = {};
  const rate = () => {
    const s = (performance.now() - t0) / 1000;
    return s > 0 ? (done - start) / s : 0;
  };
  const eta = () => {
    const r = rate();
    return r > 0 ? (total - done) / r : Number.NaN;
  };
  const extraText = () =>
    Object.entries(extra)
      .map(([k, v]) => ` ${k} ${v}`)
      .join("");

  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {percentage}% {value}/{total} | {rate} ${unit}/s | ETA {etaText}{extra}`,
        stream: stream as NodeJS.WriteStream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, done, { rate: "?", etaText: "?", extra: "" });
    const payload = () => ({ rate: formatRate(rate()), etaText: formatDuration(eta()), extra: extraText() });
    return {
      update(d, t, x) {
        done = d;
        if (t !== undefined && t !== total) {
          total = t;
          bar.setTotal(t);
        }
        if (x) extra = x;
        bar.update(d, payload());
      },
      increment(n = 1) {
        done += n;
        bar.update(done, payload());
      },
      stop(message) {
        bar.update(done, payload());
        bar.stop();
        if (message) stream.write(`${message}\n`);
      },
    };
  }

  const interval = opts.intervalMs ?? 2000;
  let last = 0;
  const line = () => {
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "?";
    stream.write(
      `${opts.label}: ${done}/${total} (${pct}%) ${formatRate(rate())} ${unit}/s ETA ${formatDuration(eta())}${extraText()}\n`,
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
      done = d;
      if (t !== undefined) total = t;
      if (x) extra = x;
      maybe();
    },
    increment(n = 1) {
      done += n;
      maybe();
    },
    stop(message) {
      line();
      if (message) stream.write(`${message}\n`);
    },
  };
}
