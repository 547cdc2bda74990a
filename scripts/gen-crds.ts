/**
 * Writes manifests/crds/*.yaml from the TypeBox schemas in src/api (the single source of truth).
 * `npm run gen` after changing a schema; test/api/crds.test.ts fails while they differ.
 */
import { writeFileSync } from 'node:fs';
import { crdFiles } from '../src/api/crd-files.ts';

for (const [path, text] of crdFiles()) {
  writeFileSync(new URL(`../${path}`, import.meta.url), text);
  console.log(`wrote ${path}`);
}
