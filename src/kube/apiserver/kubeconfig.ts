/** The kubeconfig that points kubectl and client-node at the development API server. */
import { stringify } from 'yaml';

export function renderKubeconfig(url: string, certPem: string, token: string, name = 'tide-dev'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'certificate-authority-data': Buffer.from(certPem).toString('base64') } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
