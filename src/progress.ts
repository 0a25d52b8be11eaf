// Progress lines for long work (installs take minutes cold): one line per step, and a heartbeat while a
// step runs so a silent terminal never looks like a hang. Goes to stderr so `--json` output stays clean.
export interface Progress {
  step(message: string): void;
  /** Runs `work`, printing `message` now, a heartbeat every `everyMs`, and the elapsed time at the end. */
  track<T>(message: string, work: () => Promise<T>, everyMs?: number): Promise<T>;
}

function elapsed(fromMs: number): string {
  const s = Math.round((Date.now() - fromMs) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function consoleProgress(prefix = 'stack', out: NodeJS.WritableStream = process.stderr): Progress {
  const write = (line: string) => out.write(`[${prefix}] ${line}\n`);
  return {
    step: write,
    async track(message, work, everyMs = 30_000) {
      const start = Date.now();
      write(`${message} ...`);
      const timer = setInterval(
        () => write(`  ... still ${message.toLowerCase()} (${elapsed(start)})`),
        everyMs,
      );
      timer.unref();
      try {
        const result = await work();
        write(`${message}: done in ${elapsed(start)}`);
        return result;
      } finally {
        clearInterval(timer);
      }
    },
  };
}

export const silentProgress: Progress = { step: () => {}, track: (_m, work) => work() };
