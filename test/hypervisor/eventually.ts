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
