/**
 * Plain HTTPS requests to an API server, authenticated from a kubeconfig (bearer token or client
 * certificate): the exact status code, body and Warning headers, with nothing a typed client
 * would reshape. The differential test and the real tier's watch counting use it.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  code: number;
  /** Parsed JSON when the body is JSON, else the text. */
  body: any;
  /** The `Warning` headers' texts (`299 - "text"` → `text`). */
  warnings: string[];
}

export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Default application/json (merge-patch, json-patch, apply-patch+yaml for PATCH). */
  contentType?: string;
}

export interface WatchStream {
  events: { type: string; object: any }[];
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  stop(): void;
}

/** Sent as the User-Agent, so a real server names Update managers after it. */
export const USER_AGENT = 'tide-differential/1.0';

export class RawClient {
  private constructor(
    private readonly base: URL,
    private readonly options: RequestOptions,
  ) {}

  static async fromKubeConfig(kc: KubeConfig): Promise<RawClient> {
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    return new RawClient(new URL(kc.getCurrentCluster()!.server), options);
  }

  private open(req: RawRequest): Promise<IncomingMessage> {
    const url = new URL(req.path, this.base);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = { ...(this.options.headers as Record<string, string>), Accept: 'application/json', 'User-Agent': USER_AGENT };
    // An explicit length: Node sends a DELETE's body unframed otherwise, and the server reads it as the next request.
    if (body !== undefined) Object.assign(headers, { 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
    return new Promise((resolve, reject) => {
      const r = httpsRequest(url, { ...this.options, method: req.method, headers }, resolve);
      r.on('error', reject);
      r.end(body);
    });
  }

  async send(req: RawRequest): Promise<RawResponse> {
    const res = await this.open(req);
    let text = '';
    for await (const chunk of res) text += chunk;
    let body: unknown = text;
    if (/json/.test(res.headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        // Left as text: a body that claims JSON and is not is itself worth seeing in a diff.
      }
    }
    return { code: res.statusCode!, body, warnings: warningsOf(res) };
  }

  /** Opens a watch (the path's `?watch=1` is added); events collect until the stream ends or stop(). */
  async watch(path: string, query: Record<string, string> = {}): Promise<WatchStream> {
    let stop = () => {};
    const events: WatchStream['events'] = [];
    const res = await this.open({ method: 'GET', path, query: { ...query, watch: '1' } });
    if (res.statusCode !== 200) {
      let text = '';
      for await (const chunk of res) text += chunk;
      throw new Error(`watch ${path} answered ${res.statusCode}: ${text}`);
    }
    const ended = new Promise<void>((resolve) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) events.push(JSON.parse(line));
        }
      });
      res.on('close', resolve);
      res.on('end', resolve);
      stop = () => res.destroy();
    });
    return { events, ended, stop: () => stop() };
  }
}

function warningsOf(res: IncomingMessage): string[] {
  const raw = res.headers.warning;
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  // A real server sends one header per warning; a comma-joined header would split the same way.
  return all.flatMap((h) => [...h.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`)));
}
