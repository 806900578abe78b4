/** Waiting helpers shared by the tests, the benchmark and the drills (the one copy of each). */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface UntilOptions {
  /** Gives up after this long (default 20 s). */
  ms?: number;
  /** Pause between reads (default 50 ms). */
  everyMs?: number;
  /** Treats a read that throws as "not yet" instead of failing at once (the last error is reported). */
  retryErrors?: boolean;
}

/**
 * Polls until something holds, or throws `timed out waiting until <what>`.
 * - `until(what, probe, options?)`: `probe` answers `undefined` or `false` for "not yet"; resolves with its first other answer.
 * - `until(what, read, ok, options?)`: resolves with the first value `ok` accepts.
 * A number for `options` is the timeout in ms.
 */
export function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options?: number | UntilOptions,
): Promise<T>;
export function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  options?: number | UntilOptions,
): Promise<T>;
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  okOrOptions?: ((value: T) => boolean) | number | UntilOptions,
  maybeOptions?: number | UntilOptions,
): Promise<T> {
  const ok =
    typeof okOrOptions === 'function' ? okOrOptions : (value: T): boolean => value !== undefined && value !== false;
  const options = (typeof okOrOptions === 'function' ? maybeOptions : okOrOptions) ?? {};
  const { ms = 20_000, everyMs = 50, retryErrors = false } = typeof options === 'number' ? { ms: options } : options;
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
    } catch (err) {
      if (!retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const cause =
        last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})`;
      throw new Error(`timed out waiting until ${what} (${ms} ms)${cause}`);
    }
    await sleep(everyMs);
  }
}
