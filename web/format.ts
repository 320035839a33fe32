/** How the page writes durations and rates for people: no "0.0 s", no more digits than the measurement holds. */

/** Milliseconds below a second, one decimal below a minute, else minutes and seconds. */
export function fmtSeconds(s: number): string {
  if (s < 1) return `${Math.max(1, Math.round(s * 1000))} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const t = Math.round(s);
  return `${Math.floor(t / 60)} min ${t % 60} s`;
}

/** Images per second to two significant digits (a rate timed over a few milliseconds is no more exact than that). */
export function fmtRate(count: number, seconds: number): string {
  const r = count / Math.max(seconds, 1e-3);
  return `${Number(r.toPrecision(2)).toLocaleString("en")} img/s`;
}
