import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, describeError, parseLogLevel } from '../src/index.ts';

afterEach(() => vi.restoreAllMocks());

/** The lines written while `run` runs, parsed, with the console method each went to. */
function captureLines(run: () => void): { stream: string; line: Record<string, unknown> }[] {
  const lines: { stream: string; line: Record<string, unknown> }[] = [];
  for (const stream of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, stream).mockImplementation((text: unknown) => {
      lines.push({ stream, line: JSON.parse(String(text)) });
    });
  }
  run();
  return lines;
}

describe('createLogger', () => {
  it('drops lines below the configured level and keeps the rest, with the fields of `with`', () => {
    const lines = captureLines(() => {
      const log = createLogger({ correlation_id: 'c' }, parseLogLevel('warn'));
      log.log('info', 'request');
      log.with({ event_id: 'e' }).log('warn', 'queue refused');
    });
    expect(lines).toEqual([
      {
        stream: 'warn',
        line: expect.objectContaining({
          level: 'warn',
          message: 'queue refused',
          correlation_id: 'c',
          event_id: 'e',
          time: expect.any(String),
        }),
      },
    ]);
  });

  it('writes errors to console.error and info to console.log', () => {
    const lines = captureLines(() => {
      const log = createLogger();
      log.log('debug', 'hidden at info');
      log.log('info', 'batch', { size: 3 });
      log.log('error', 'unhandled error');
    });
    expect(lines.map(({ stream, line }) => [stream, line.message])).toEqual([
      ['log', 'batch'],
      ['error', 'unhandled error'],
    ]);
  });
});

describe('parseLogLevel', () => {
  it('falls back to info for an unknown or missing level', () => {
    expect(parseLogLevel('verbose')).toBe('info');
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('debug')).toBe('debug');
  });
});

describe('describeError', () => {
  it('names an Error by its name and message, and anything else by its string form', () => {
    expect(describeError(new TypeError('bad input'))).toBe('TypeError: bad input');
    expect(describeError('plain')).toBe('plain');
  });
});
