/** Retries an assertion until it holds or time runs out; the last failure is what is reported. */
export async function eventually<T>(check: () => Promise<T>, options: { timeoutMs: number; intervalMs?: number; what: string }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`${options.what}: still failing after ${options.timeoutMs} ms: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
    }
  }
}

/** Polls `probe` until it returns a truthy value (or stops throwing with one); fails naming `what` after `timeoutMs`. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs: number, intervalMs = 1000): Promise<T> {
  return eventually(
    async () => {
      const value = await probe();
      if (!value) throw new Error('not yet');
      return value;
    },
    { what: `waiting for ${what}`, timeoutMs, intervalMs },
  );
}

/**
 * `work`, or `fallback` once `ms` have passed, whichever comes first. The timer is cleared
 * either way: a bare `Promise.race` with `setTimeout` keeps the test process alive until the
 * timer fires, after its last test (the lab files each lingered 10 s that way).
 */
export async function atMost<T, F = undefined>(work: Promise<T>, ms: number, fallback?: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback as F), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
