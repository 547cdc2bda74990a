/**
 * Which Secrets a PhysicalHost has Tide read: only Secrets in Tide's own namespace. Whoever may
 * write PhysicalHosts is not thereby allowed to read every Secret in the cluster; were any
 * namespace accepted, they could have Tide send another team's IPMI password to a BMC of their
 * choosing. The Role in that namespace enforces the same on the server side (permissions.ts);
 * this check turns the server's 403 into a condition the host's author can read.
 */
import type { PhysicalHostSpec } from '../api/physical-host.ts';

/** Where Tide runs when nothing says otherwise (`tide run --namespace`, POD_NAMESPACE). */
export const DEFAULT_TIDE_NAMESPACE = 'tide-system';

export interface SecretToRead {
  field: string;
  namespace: string;
  name: string;
}

/** The reason of the Reachable=False condition of a host whose Secret Tide refuses to read. */
export const SECRET_OUTSIDE_NAMESPACE = 'SecretOutsideNamespace';

/**
 * The Secrets `spec` names, each resolved to Tide's namespace when its ref names none; or the
 * reason Tide refuses them all (one ref outside `tideNamespace` is enough: the host is then
 * neither contacted nor powered with partial credentials).
 */
export function secretsToRead(spec: PhysicalHostSpec, tideNamespace: string): { secrets: SecretToRead[] } | { refused: string } {
  const refs = [
    { field: 'spec.ssh.secretRef', ref: spec.ssh?.secretRef },
    { field: 'spec.power.ipmi.secretRef', ref: spec.power?.ipmi?.secretRef },
  ];
  const secrets: SecretToRead[] = [];
  for (const { field, ref } of refs) {
    if (!ref) continue;
    const namespace = ref.namespace ?? tideNamespace;
    if (namespace !== tideNamespace) {
      return {
        refused: `${field} names Secret ${namespace}/${ref.name}, outside Tide's namespace ${tideNamespace}: Tide reads Secrets from ${tideNamespace} only, so it does not contact or power this host until the Secret is moved there`,
      };
    }
    secrets.push({ field, namespace, name: ref.name });
  }
  return { secrets };
}
