import { waitFor } from '../hypervisor/eventually.ts';
import type { GetJson } from './api-get.ts';

/**
 * The Events (in every namespace) that `which` keeps, once `enough` of them are there. The
 * operator sends an Event after the status write a test waits for, so a test that reads the
 * Events at once races it (a CI run failed that way).
 */
export function eventsOnceSent(getJson: GetJson, what: string, which: (e: any) => boolean, enough = (sent: any[]) => sent.length > 0, timeoutMs = 90_000): Promise<any[]> {
  return waitFor(what, async () => {
    const sent = (await getJson('events', '-A')).items.filter(which);
    return enough(sent) && sent;
  }, timeoutMs, 250);
}
