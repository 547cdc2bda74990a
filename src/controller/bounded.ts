/**
 * Requests of one round to the API server in flight at once (status writes, finalizers). Each
 * one in flight holds its body and, as the shared agent caps idle connections only
 * (kube-client.ts), possibly a TLS connection of its own: the first round's 10,000 finalizer
 * requests, all started at once, grew the operator's malloc arenas to over 1 GiB (672 MiB the
 * main one, /proc/self/smaps), which it never gave back.
 */
export const REQUESTS_IN_FLIGHT = 64;

/**
 * Runs tasks with at most `limit` in flight, taking the next one only when one ends. A round's
 * status writes go through here: started all at once, the first round at 10,000 hosts held
 * 110,000 requests, their bodies and their promises in memory together, while the client's
 * token bucket let only a few through at a time anyway.
 */
export async function runBounded(tasks: Iterable<() => Promise<void>>, limit: number): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`runBounded: limit must be an integer ≥ 1, got ${limit}`);
  const next = tasks[Symbol.iterator]();
  const worker = async () => {
    for (let task = next.next(); !task.done; task = next.next()) await task.value();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
