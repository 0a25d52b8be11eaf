// `prism stack logs`: the log files the native stack and `prism up` write (`$PRISM_STACK_DATA/logs/`), read
// with a filter (the last N lines, lines since a time, lines matching a pattern) and followed as they grow,
// across truncation and rotation. Each service writes its own format; the time of a line is read from the
// formats they use (ISO 8601 and its variants, Redis', Go's, glog's, pino's epoch milliseconds). A line
// without one (a stack trace, a continued statement) has the time of the last line before it that had one.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PrismError } from '../errors.ts';

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const millis = (fraction: string | undefined) => Number((fraction ?? '0').padEnd(3, '0').slice(0, 3));

function at(
  zone: string | undefined,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  // No zone: the machine's local time, as the service wrote it.
  if (zone === undefined) return new Date(y, mo, d, h, mi, s, ms).getTime();
  const utc = Date.UTC(y, mo, d, h, mi, s, ms);
  if (zone === 'Z' || zone === 'UTC') return utc;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  return m[1] === '+' ? utc - offset : utc + offset;
}

type Parser = { re: RegExp; time: (m: RegExpExecArray, year: number) => number };

const parsers: Parser[] = [
  // ISO 8601 and its log variants: `ts=2026-12-06T18:41:27.773Z`, `"time":"2026-12-06T18:40:04Z"`,
  // Kafka's `[2026-12-06 18:40:01,142]`, PostgreSQL's `2026-12-06 12:28:12.820 UTC`.
  {
    re: /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?: ?(Z|UTC|[+-]\d{2}:?\d{2})\b)?/,
    time: (m) => at(m[8], +m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, millis(m[7])),
  },
  // Redis: `9743:C 06 Dec 2026 18:40:57.052`.
  {
    re: /\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/,
    time: (m) => at(undefined, +m[3]!, months.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!, millis(m[7])),
  },
  // Go's log package (the Temporal UI): `2026/12/06 18:40:00`.
  {
    re: /\b(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/,
    time: (m) => at(undefined, +m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, millis(m[7])),
  },
  // glog (SeaweedFS): `I1206 18:41:02.928147`, without a year.
  {
    re: /^[IWEF](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d+)/,
    time: (m, year) => at(undefined, year, +m[1]! - 1, +m[2]!, +m[3]!, +m[4]!, +m[5]!, millis(m[6])),
  },
  // pino (the API): `{"level":30,"time":1796574793769,...`.
  { re: /"time":(\d{13})\b/, time: (m) => Number(m[1]) },
];

/**
 * The time a log line says it was written, in epoch milliseconds; null when it carries none. Only its start
 * is read (a message may quote other times). `year` completes formats without one (glog).
 */
export function lineTime(line: string, year = new Date().getFullYear()): number | null {
  const head = line.slice(0, 200);
  let best: { index: number; time: number } | null = null;
  for (const p of parsers) {
    const m = p.re.exec(head);
    if (!m || (best && m.index >= best.index)) continue;
    const time = p.time(m, year);
    if (Number.isFinite(time)) best = { index: m.index, time };
  }
  return best?.time ?? null;
}

const units: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * `--since`: a duration back from `now` (`90s`, `10m`, `2h`, `1h30m`, `7d`) or a point in time (ISO 8601,
 * `2026-12-06T18:00:00Z`; without a zone, local time). Epoch milliseconds.
 */
export function parseSince(value: string, now = Date.now()): number {
  const text = value.trim();
  if (/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(text)) {
    let total = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * units[m[2]!]!;
    return now - total;
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time))
    throw new PrismError(
      'INVALID_INPUT',
      `--since ${value}: use a duration (90s, 10m, 2h, 1h30m, 7d) or a time (2026-12-06T18:00:00Z)`,
    );
  return time;
}

export interface LogFilter {
  /** Epoch milliseconds: only lines written since then. */
  since?: number;
  grep?: RegExp;
  /** Only the last N lines that pass the filter; undefined: all of them. */
  lines?: number;
}

export interface LogRead {
  lines: string[];
  /** The file does not exist (the service never started, or writes elsewhere). */
  missing: boolean;
  /** No line of the file carries a time: `since` was decided by the file's modification time. */
  untimed: boolean;
  modified?: Date;
  /** How far the file was read (where following it goes on). */
  size: number;
}

/** The lines of one log file that pass `filter`, streamed (a log of any size), up to its size now. */
export async function readLog(file: string, filter: LogFilter): Promise<LogRead> {
  if (!existsSync(file)) return { lines: [], missing: true, untimed: false, size: 0 };
  const stat = statSync(file);
  const size = stat.size;
  const keep = filter.lines ?? Infinity;
  const kept: string[] = [];
  // Lines before the first one with a time: kept aside, shown only when the file has no time at all.
  const untimedHead: string[] = [];
  const push = (target: string[], line: string) => {
    if (keep === 0) return;
    target.push(line);
    if (target.length > keep) target.shift();
  };
  let last: number | null = null;
  if (size > 0) {
    const lines = createInterface({
      input: createReadStream(file, { start: 0, end: size - 1, encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    const year = stat.mtime.getFullYear();
    for await (const line of lines) {
      if (filter.since !== undefined) {
        last = lineTime(line, year) ?? last;
        if (last === null) {
          if (!filter.grep || filter.grep.test(line)) push(untimedHead, line);
          continue;
        }
        if (last < filter.since) continue;
      }
      if (filter.grep && !filter.grep.test(line)) continue;
      push(kept, line);
    }
  }
  const untimed = filter.since !== undefined && last === null && size > 0;
  if (untimed && stat.mtime.getTime() >= filter.since!) kept.push(...untimedHead);
  return { lines: kept, missing: false, untimed, modified: stat.mtime, size };
}

export interface FollowedLog {
  name: string;
  file: string;
  /** Where to go on from (what readLog read); new lines after it are passed on. */
  from: number;
}

/**
 * Passes on every new line of each file as it is written, until `signal` aborts. A file that shrinks was
 * truncated (read again from its start); one replaced by another file of that name was rotated (the rest of
 * the old one is read, then the new one from its start); one that does not exist yet is waited for.
 */
export async function followLogs(
  logs: FollowedLog[],
  onLine: (name: string, line: string) => void,
  signal: AbortSignal,
  options: { grep?: RegExp; intervalMs?: number; onNote?: (name: string, note: string) => void } = {},
): Promise<void> {
  const states = logs.map((l) => ({
    ...l,
    fd: null as number | null,
    ino: 0,
    pos: l.from,
    partial: '',
    first: true,
  }));
  const emit = (s: (typeof states)[number], text: string) => {
    const parts = (s.partial + text).split('\n');
    s.partial = parts.pop()!;
    for (const line of parts) if (!options.grep || options.grep.test(line)) onLine(s.name, line);
  };
  const drain = (s: (typeof states)[number]) => {
    if (s.fd === null) return;
    const size = fstatSync(s.fd).size;
    if (size < s.pos) {
      options.onNote?.(s.name, 'its log was truncated; reading it from the start');
      s.pos = 0;
      s.partial = '';
    }
    const buffer = Buffer.alloc(1 << 20);
    while (s.pos < size) {
      const read = readSync(s.fd, buffer, 0, Math.min(buffer.length, size - s.pos), s.pos);
      if (read <= 0) break;
      s.pos += read;
      emit(s, buffer.subarray(0, read).toString('utf8'));
    }
  };
  const tick = () => {
    for (const s of states) {
      let ino: number | null = null;
      try {
        ino = statSync(s.file).ino;
      } catch {
        ino = null;
      }
      if (s.fd !== null && ino !== s.ino) {
        // Rotated (renamed away, a new file in its place) or removed: finish the old one.
        drain(s);
        closeSync(s.fd);
        s.fd = null;
        if (s.partial) onLine(s.name, s.partial);
        s.partial = '';
        s.pos = 0;
        if (ino !== null) options.onNote?.(s.name, 'its log was rotated; reading the new file');
      }
      if (s.fd === null && ino !== null) {
        try {
          s.fd = openSync(s.file, 'r');
          s.ino = fstatSync(s.fd).ino;
        } catch {
          continue;
        }
        if (!s.first) s.pos = 0;
      }
      s.first = false;
      drain(s);
    }
  };
  try {
    while (!signal.aborted) {
      tick();
      await new Promise<void>((resolve) => {
        // The abort listener lives one pause: left on the signal, one a tick piled up (a leak, and Node's
        // MaxListenersExceededWarning after a few seconds of -f).
        const onAbort = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, options.intervalMs ?? 250);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  } finally {
    for (const s of states) if (s.fd !== null) closeSync(s.fd);
  }
}
