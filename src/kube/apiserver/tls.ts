/**
 * The server's TLS identity, made fresh at every start with `selfsigned` (a maintained wrapper
 * over @peculiar/x509): a P-256 certificate for localhost / 127.0.0.1 / ::1 that is its own CA,
 * so the kubeconfig can carry it as certificate-authority-data. Plus a random bearer token.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';

export interface ServerIdentity {
  certPem: string;
  keyPem: string;
  token: string;
}

export async function makeServerIdentity(host: string): Promise<ServerIdentity> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 365 * 24 * 3_600_000);
  const altNames = [
    { type: 2 as const, value: 'localhost' },
    { type: 7 as const, ip: '127.0.0.1' },
    { type: 7 as const, ip: '::1' },
    ...(host && !['127.0.0.1', '::1', 'localhost'].includes(host) ? [/^[\d.]+$|:/.test(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host }] : []),
  ];
  const pems = await generate([{ name: 'commonName', value: 'tide-dev-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private, token: randomBytes(32).toString('base64url') };
}
