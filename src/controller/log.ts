/**
 * The operator's log: one line per thing that happened. `text` is for people watching
 * `tide dev`; `json` (one object per line) is for log pipelines in a cluster.
 * Never pass secrets in fields.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export type LogFormat = 'text' | 'json';

export function createLogger(options: { format: LogFormat; verbose?: boolean; now?: () => number; write?: (line: string) => void }): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? Date.now;
  const emit = (level: string, message: string, fields: Record<string, unknown> = {}) => {
    const time = new Date(now()).toISOString();
    if (options.format === 'json') {
      write(JSON.stringify({ time, level, msg: message, ...fields }));
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`${time.slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${message}${extra ? `  ${extra}` : ''}`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    debug: (m, f) => {
      if (options.verbose) emit('debug', m, f);
    },
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
