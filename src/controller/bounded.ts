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
