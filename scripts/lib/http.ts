/**
 * A small HTTP client for the scenarios and drills: Node's built-in fetch (undici) with a
 * timeout, answers as plain data (status 0 for a network error), and per-operation
 * latency samples.
 */
import { performance } from 'node:perf_hooks';
import type { Sample } from './stats';

/** A user with a queue token. */
export interface BenchUser {
  userId: string;
  token: string;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  /** Start, ms since the recorder's origin. */
  start: number;
  ms: number;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Collects samples per operation name, all measured from one origin. */
export class Recorder {
  readonly samples: Record<string, Sample[]> = {};
  readonly origin = performance.now();

  now(): number {
    return performance.now() - this.origin;
  }

  add(op: string, start: number, ms: number, status: number): void {
    (this.samples[op] ??= []).push([Math.round(start * 10) / 10, Math.round(ms * 10) / 10, status]);
  }
}

/** One request; never throws. `op` records a sample when a recorder is given. */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  opts: CallOptions = {},
  rec?: Recorder,
  op?: string,
): Promise<Answer<T>> {
  const origin = rec?.origin ?? 0;
  const t = performance.now();
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let status = 0;
  let body: unknown;
  try {
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    status = res.status;
    const text = await res.text();
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { text };
    }
  } catch (err) {
    body = { error: { code: 'NETWORK', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) } };
  }
  const ms = performance.now() - t;
  if (rec && op) rec.add(op, t - origin, ms, status);
  return { status, body: body as T, start: t - origin, ms };
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}
