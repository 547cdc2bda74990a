/**
 * Watch streams: newline-delimited `{type, object}` events from a resourceVersion on. Objects
 * moving into or out of a selector arrive as ADDED / DELETED, as the real watch cache sends
 * them; when bookmarks are allowed, one marks the end of the initial state and more go out
 * periodically (every 10 s here, about a minute on a real server); a resourceVersion older than the kept
 * history gets an ERROR event with a 410 Expired status, after which the client re-lists.
 */
import type { ServerResponse } from 'node:http';
import type { Operations } from './operations.ts';
import type { ObjectPredicate } from './selectors.ts';
import { badRequest, gone } from './status.ts';
import type { ObjectStore, StoredEvent } from './store.ts';
import { toTable } from './tables.ts';
import { apiVersionOf, type KubeObject, type ResourceType } from './types.ts';

export interface WatchRequest {
  resource: ResourceType;
  namespace: string | undefined;
  matches: ObjectPredicate;
  query: URLSearchParams;
  /** Send each object as a one-row Table (kubectl get --watch asks for that). */
  asTable: boolean;
}

export interface WatchSettings {
  bookmarkIntervalMs: number;
  /** Longest a watch stays open without a client timeout, as a real server's request timeout. */
  maxWatchSeconds: number;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** Streams a watch on `res`; returns a function that ends it (used on server stop). */
export function serveWatch(res: ServerResponse, w: WatchRequest, store: ObjectStore, ops: Operations, settings: WatchSettings): () => void {
  const r = w.resource;
  const rvParam = w.query.get('resourceVersion') ?? '';
  const sendInitial = w.query.get('sendInitialEvents') === 'true';
  const allowBookmarks = w.query.get('allowWatchBookmarks') === 'true';
  const fromRevision = rvParam === '' || rvParam === '0' || sendInitial ? undefined : Number(rvParam);
  if (fromRevision !== undefined && !Number.isInteger(fromRevision)) throw badRequest(`invalid resourceVersion "${rvParam}"`);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  // kubectl wait/get -w block until the headers arrive; send them before any event exists.
  res.flushHeaders();

  const send = (type: WatchEventType, object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const sendObject = (type: WatchEventType, obj: KubeObject) => {
    const view = ops.view(r, obj);
    send(type, w.asTable ? toTable(r.columns, [view], { resourceVersion: view.metadata.resourceVersion }, w.query.get('includeObject') ?? 'Object') : view);
  };
  // Store events reach watches synchronously, so this watch has seen everything up to now:
  // a bookmark can carry the newest resourceVersion, whatever resource it belonged to.
  const bookmark = (annotations?: Record<string, string>) =>
    send('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(store.currentRevision), ...(annotations ? { annotations } : {}) } });

  const inScope = (obj: KubeObject | undefined) =>
    obj !== undefined && (!w.namespace || obj.metadata.namespace === w.namespace) && w.matches(ops.view(r, obj));

  const deliver = (e: StoredEvent) => {
    if (e.storageKey !== r.storageKey) return;
    const now = e.type !== 'DELETED' && inScope(e.object);
    const before = e.type !== 'ADDED' && inScope(e.type === 'DELETED' ? e.object : e.previous);
    if (e.type === 'DELETED') {
      if (before) sendObject('DELETED', e.object);
    } else if (now && before) sendObject('MODIFIED', e.object);
    else if (now) sendObject('ADDED', e.object);
    // Leaving the selection: the object as it was while selected, at this change's resourceVersion (as the watch cache sends it).
    else if (before) sendObject('DELETED', { ...e.previous!, metadata: { ...e.previous!.metadata, resourceVersion: e.object.metadata.resourceVersion } });
  };

  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  const end = () => {
    unsubscribe();
    timers.forEach(clearTimeout);
    if (!res.writableEnded) res.end();
  };
  res.on('close', end);

  if (fromRevision === undefined) {
    for (const obj of store.list(r.storageKey, w.namespace)) if (inScope(obj)) sendObject('ADDED', obj);
    // The end of the initial state is marked whenever bookmarks are allowed (kube-apiserver 1.37 does so without sendInitialEvents too).
    if (sendInitial || allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const replay = store.eventsSince(fromRevision);
    if (!replay) {
      const expired = gone(`too old resource version: ${fromRevision} (${store.oldestWatchableRevision})`);
      send('ERROR', expired.toStatus());
      end();
      return end;
    }
    replay.forEach(deliver);
  }
  unsubscribe = store.subscribe(deliver);

  if (allowBookmarks) timers.push(setInterval(() => bookmark(), settings.bookmarkIntervalMs));
  const timeoutSeconds = Number(w.query.get('timeoutSeconds') ?? settings.maxWatchSeconds);
  timers.push(setTimeout(end, Math.min(timeoutSeconds, settings.maxWatchSeconds) * 1000));
  return end;
}
