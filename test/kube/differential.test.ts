/**
 * The differential test: one scripted sequence of raw requests (differential/script.ts) sent to
 * the embedded development API server and to a real kube-apiserver, each fresh; their answers
 * (status code, body, Warning headers, watch events) compared step by step after uids,
 * resourceVersions, timestamps and generated names are normalised. Where they differ the real
 * server is right: the embedded one is fixed, or the difference is kept on purpose and listed
 * below with why (and in docs/kube.md, "Embedded vs real kube-apiserver"). An entry that no
 * longer matches anything fails the test too, so the list stays the truth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverTiers, startHarness, type KubeTarget } from './harness.ts';
import { RawClient } from './raw-client.ts';
import { startRealTarget } from './real-target.ts';
import { differences, normalise, type Difference } from './differential/compare.ts';
import { script, type Observed } from './differential/script.ts';

interface Kept {
  step: RegExp;
  path: RegExp;
  why: string;
}

/** Differences kept on purpose (mirrored in docs/kube.md, "Embedded vs real kube-apiserver"). */
export const KEPT: Kept[] = [
  {
    step: /^create CRD$/,
    path: /^body\.(status\.|metadata\.managedFields)/,
    why: 'the embedded server establishes a CRD within the create request, so its answer already shows the Established status (and kube-apiserver as its manager); a real server\'s controllers do so a moment later',
  },
  {
    step: /^list a bad label selector$/,
    path: /^body\.message$/,
    why: 'a label selector that does not parse is the same 400 BadRequest, worded by the embedded parser',
  },
  {
    step: /^list with a bad continue token$/,
    path: /^body\.message$/,
    why: 'a continue token that does not decode is the same 400 BadRequest; the real message quotes Go\'s base64 decoder',
  },
  {
    step: /^invalid: kind does not match$/,
    path: /^(code|body\.(message|reason|code|details))$/,
    why: 'a body of another kind than the URL\'s resource is refused while decoding (400); a real server decodes it, runs the CEL rules on the undefaulted object and answers 422 with both errors',
  },
  {
    step: /^invalid: not JSON$/,
    path: /^body\.message$/,
    why: 'a body that is not JSON is the same 400 BadRequest; the real message quotes Go\'s JSON decoder',
  },
];

async function runScript(target: KubeTarget): Promise<Observed[]> {
  const client = await RawClient.fromKubeConfig(target.kubeConfig());
  const c = { client, saved: {}, forgetHistory: () => target.embedded?.compactHistory() };
  const observed: Observed[] = [];
  for (const step of script) {
    try {
      observed.push(await step.run(c));
    } catch (err) {
      throw new Error(`${target.tier} server, step "${step.name}": ${(err as Error).message}`);
    }
  }
  return observed;
}

const realTier = serverTiers().find((t) => t.tier === 'real')!;

test('the embedded server answers a scripted sequence of requests as a real kube-apiserver does', { skip: realTier.skip }, async () => {
  const run = async (start: () => Promise<KubeTarget>) => {
    const target = await start();
    try {
      const began = Date.now();
      const observed = await runScript(target);
      return { observed, ms: Date.now() - began };
    } finally {
      await target.close();
    }
  };
  const embedded = await run(() => startHarness());
  const real = await run(startRealTarget);

  const unexplained: (Difference & { step: string })[] = [];
  const used = new Set<Kept>();
  script.forEach((step, i) => {
    for (const d of differences(normalise(embedded.observed[i]), normalise(real.observed[i]))) {
      const kept = KEPT.find((k) => k.step.test(step.name) && k.path.test(d.path));
      if (kept) used.add(kept);
      else unexplained.push({ step: step.name, ...d });
    }
  });
  const show = (d: Difference & { step: string }) =>
    `- ${d.step}: ${d.path || '(whole answer)'}\n    embedded: ${JSON.stringify(d.embedded)}\n    real:     ${JSON.stringify(d.real)}`;
  assert.equal(unexplained.length, 0, `the servers differ (${script.length} steps; embedded ${embedded.ms} ms, real ${real.ms} ms):\n${unexplained.map(show).join('\n')}`);
  const stale = KEPT.filter((k) => !used.has(k));
  assert.deepEqual(stale.map((k) => `${k.step} ${k.path}: ${k.why}`), [], 'kept differences that no longer occur: remove them here and in docs/kube.md');
});
