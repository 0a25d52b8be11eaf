import type { AgentLogger } from './types.ts';

/** One line per event on stderr (stdout stays free for the CLI's ready line): `[agent <id>] message {fields}`. */
export function consoleLogger(agentId: string, out: NodeJS.WritableStream = process.stderr): AgentLogger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    out.write(`[agent ${agentId}] ${level === 'info' ? '' : `${level.toUpperCase()} `}${message}${extra}\n`);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

export const silentLogger: AgentLogger = { info: () => {}, warn: () => {}, error: () => {} };
