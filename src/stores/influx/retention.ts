// Retention periods as PRISM writes them ("30d", "12h", "2w", "infinite") and as InfluxDB 1.x reports
// them (Go durations such as "720h0m0s", "0s" for infinite), both as seconds (0 = keep forever).

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Parses a retention such as "30d", "12h", "2w" or "infinite" to seconds; 0 means keep forever. */
export function parseRetention(retention: string): number {
  if (retention === 'infinite') return 0;
  const match = /^(\d+)([smhdw])$/.exec(retention);
  const seconds = match ? Number(match[1]) * unitSeconds[match[2]!]! : NaN;
  if (!(seconds >= 3600)) {
    throw new Error(
      `retention "${retention}" is invalid: use a whole number of s, m, h, d or w of at least 1h (e.g. 30d), or "infinite"`,
    );
  }
  return seconds;
}

/** Parses a Go duration as InfluxDB 1.x prints it ("720h0m0s") to seconds. */
export function parseGoDuration(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|µs|us|ns)/g)];
  if (parts.length === 0) throw new Error(`unexpected duration "${duration}" from InfluxDB`);
  const scale: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9 };
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * scale[unit!]!, 0));
}

export function describeRetention(seconds: number): string {
  if (seconds === 0) return 'infinite';
  return seconds % 86_400 === 0 ? `${seconds / 86_400}d` : `${seconds / 3600}h`;
}
