/**
 * The kubeconfig of `tide run` and `tide zigbee-agent`: --kubeconfig FILE, else what client-node
 * finds by itself ($KUBECONFIG, ~/.kube/config, then the pod's service account). When it finds
 * nothing, client-node falls back to http://localhost:8080 and every request then fails with a
 * TLS message that says nothing about the cause, so that case is one clear error up front.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from './command.ts';

/** Where client-node reads an in-cluster config from (the service account a pod is given). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigSources {
  env: NodeJS.ProcessEnv;
  home: string;
  serviceAccountToken: string;
}

const defaultSources = (): KubeConfigSources => ({ env: process.env, home: homedir(), serviceAccountToken: SERVICE_ACCOUNT_TOKEN });

function fromFile(file: string, what: string): KubeConfig {
  if (!existsSync(file)) throw new UserError(`${what}: no such file ${file}`);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(file);
  } catch (err) {
    throw new UserError(`${what} ${file}: ${(err as Error).message}`);
  }
  return kubeConfig;
}

export function loadKubeConfig(flag: string | undefined, sources: KubeConfigSources = defaultSources()): KubeConfig {
  if (flag) return fromFile(flag, '--kubeconfig');
  const listed = (sources.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) {
    // client-node reads them all; a missing one would end in a stack trace.
    for (const file of listed) if (!existsSync(file)) throw new UserError(`$KUBECONFIG: no such file ${file}`);
  } else if (!existsSync(join(sources.home, '.kube', 'config')) && !existsSync(sources.serviceAccountToken)) {
    throw new UserError(
      `no kubeconfig: --kubeconfig not given, $KUBECONFIG not set, no ${join(sources.home, '.kube', 'config')}, and not in a pod ` +
        `(no ${sources.serviceAccountToken}); give --kubeconfig FILE, or try 'tide dev', which brings its own API server`,
    );
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (err) {
    throw new UserError(`kubeconfig: ${(err as Error).message}`);
  }
  return kubeConfig;
}
