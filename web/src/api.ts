/** A small client of the HTTP API (API.md v1.1) shared by the buyer and operator pages. */

/** A refusal from the API, or a network failure (`code` NETWORK), with the error code of API.md. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from a `Retry-After` header, when the API sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  method?: string;
  /** Sent as `Authorization: Bearer <bearer>` (identity token or queue token). */
  bearer?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls the API and returns its JSON body; any status from 400 up becomes an {@link ApiError}. */
export async function call<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'network error');
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const retry = Number(res.headers.get('Retry-After'));
    throw new ApiError(
      res.status,
      typeof err?.code === 'string' ? err.code : 'UNKNOWN',
      typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`,
      Number.isFinite(retry) && retry > 0 ? retry : null,
    );
  }
  return json as T;
}

/** The `sub` of a JWT, read without verifying it (the API verifies; the page only needs the user id). */
export function jwtSubject(token: string): string | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

export type QueueStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'COMPLETED';

export interface QueueView {
  token: string;
  userId: string;
  status: QueueStatus;
  position: number;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
}

export interface Concert {
  concertId: string;
  title: string;
}

export interface ConcertDate {
  date: string;
  availableSeats: number;
}

export interface Seat {
  seatNo: number;
  price: number;
}

export interface Reservation {
  reservationId: string;
  userId: string;
  concertId: string;
  date: string;
  seatNo: number;
  price: number;
  status: 'HELD' | 'CONFIRMED' | 'EXPIRED' | 'CANCELLED';
  heldUntil: string;
}

export interface Payment {
  paymentId: string;
  reservationIds?: string[];
  amount: number;
  balance: number;
  paidAt: string;
}

export interface QueueAdminView {
  waiting: number;
  active: number;
  maxActive: number;
  admitPerSecond: number;
  paused: boolean;
  /** Not in API.md v1.1: used for the admissions chart when a server provides it. */
  admittedTotal?: number;
}

export interface AdminUserView {
  userId: string;
  status: QueueStatus;
  position: number;
  activeUntil: string | null;
  workflowId: string | null;
}

/**
 * Follows the queue entry's Server-Sent Events with fetch (EventSource cannot send the
 * Authorization header). Calls `onStatus` for every `status` event; resolves when the stream
 * ends and rejects when it cannot be opened or breaks.
 */
export async function followQueueEvents(
  token: string,
  onStatus: (view: QueueView) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch('/v1/queue/tokens/current/events', {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    signal,
  });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'STREAM', `stream answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (event === 'status' && data.length > 0) onStatus(JSON.parse(data.join('\n')) as QueueView);
    }
  }
}
