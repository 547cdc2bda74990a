/**
 * `tide apiserver`: runs the in-memory development API server in the foreground and writes a
 * kubeconfig for kubectl and client-node. For development and tests only — never production.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { CliCommand } from '../command.ts';
import { UserError } from '../command.ts';
import { startApiServer } from '../../kube/apiserver/index.ts';
import { readManifests } from '../../kube/manifests.ts';

const HELP = `usage: tide apiserver [--port N] [--host ADDR] [--kubeconfig FILE] [--apply PATH]…

Runs an in-memory Kubernetes API server for development and tests (never for production:
nothing is persisted, one bearer token, no RBAC). Serves HTTPS with a self-signed certificate
made at start; the kubeconfig written to FILE trusts it. Stops on SIGINT/SIGTERM.

  --port N           TCP port (default 6443; 0 picks a free port)
  --host ADDR        address to listen on (default 127.0.0.1)
  --kubeconfig FILE  where to write the kubeconfig (default ./tide-dev.kubeconfig)
  --apply PATH       create the manifests in this file or folder at start, as kubectl apply -f
                     would (repeatable, in order: CRDs first)`;

export const command: CliCommand = {
  name: 'apiserver',
  summary: 'run the in-memory development Kubernetes API server (not for production)',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          port: { type: 'string', default: '6443' },
          host: { type: 'string', default: '127.0.0.1' },
          kubeconfig: { type: 'string', default: 'tide-dev.kubeconfig' },
          apply: { type: 'string', multiple: true, default: [] },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (err) {
      throw new UserError(`${(err as Error).message}\n\n${HELP}`);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: expected 0…65535, got '${values.port}'`);
    let objects;
    try {
      objects = readManifests(...values.apply!);
    } catch (err) {
      throw new UserError(`--apply: ${(err as Error).message}`);
    }
    let server;
    try {
      server = await startApiServer({ port, host: values.host, objects });
    } catch (err) {
      const message = (err as Error).message;
      throw new UserError(message.startsWith('startApiServer:') ? `--apply: ${message.slice(16)}` : `cannot listen on ${values.host}:${port}: ${message}`);
    }
    const kubeconfigPath = resolve(values.kubeconfig!);
    try {
      server.writeKubeconfig(kubeconfigPath);
    } catch (err) {
      await server.stop();
      throw new UserError(`--kubeconfig ${kubeconfigPath}: ${(err as Error).message}`);
    }
    console.log(server.url);
    console.error(`tide apiserver: listening on ${server.url} (development only, in memory); kubeconfig written to ${kubeconfigPath}`);
    console.error(`tide apiserver: export KUBECONFIG=${kubeconfigPath}`);
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.stop();
    console.error('tide apiserver: stopped');
    return 0;
  },
};
