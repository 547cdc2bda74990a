/**
 * The image definition, checked statically (no Docker engine here): the Dockerfile is valid,
 * copies only what exists and is not ignored, runs as the user the manifests expect, and the
 * production dependencies it installs cover every package src/ imports at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { Copy, DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import ts from 'typescript';
import { podSpecOf } from './checks.ts';
import { chartSkip, kustomizeWithZigbeeAgent, renderChart, ROOT } from './render.ts';

// Its types declare an ES default export; at run time module.exports is the factory itself.
const ignore = dockerignore as unknown as typeof dockerignore.default;
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const finalStage = instructions.slice(instructions.map((i) => i.getKeyword()).lastIndexOf('FROM'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string>; scripts: Record<string, string> };

/** End of life of Node's LTS lines (https://github.com/nodejs/Release): an image must not outlive its line. */
const NODE_LTS_END_OF_LIFE: Record<string, string> = { '20': '2026-04-30', '22': '2027-04-30', '24': '2028-04-30' };

test('the Dockerfile is valid and builds from a supported Node LTS line on Debian bookworm', () => {
  assert.deepEqual(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
  const images = dockerfile.getFROMs().map((f) => `${f.getImageName()}:${f.getImageTag()}`);
  const line = /^node:(\d+)-bookworm$/.exec(images[0] ?? '')?.[1];
  assert.deepEqual(images, [`node:${line}-bookworm`, `node:${line}-bookworm-slim`], 'both stages on one Node line');
  const endOfLife = NODE_LTS_END_OF_LIFE[line!];
  assert.ok(endOfLife, `node:${line} is not an LTS line`);
  assert.ok(Date.now() < Date.parse(endOfLife), `Node ${line} reached its end of life on ${endOfLife}: move the image to a supported LTS line`);
  assert.ok(instructions.some((i) => i.getKeyword() === 'RUN' && /\bnpm ci --omit=dev\b/.test(i.getArgumentsContent() ?? '')));
  // Only package.json and the lock file reach `npm ci`: no install script of ours may need more.
  assert.deepEqual(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?install$|^prepare$/.test(s)), []);
});

test('every COPY from the context exists and is not excluded by .dockerignore', () => {
  const ignored = ignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const problems: string[] = [];
  for (const copy of instructions.filter((i): i is Copy => i instanceof Copy)) {
    if (copy.getFromFlag()) continue;
    const sources = copy.getArguments().slice(0, -1).map((a) => a.getValue());
    for (const source of sources) {
      if (!existsSync(join(ROOT, source))) problems.push(`COPY ${source}: no such file`);
      else if (ignored.ignores(source)) problems.push(`COPY ${source}: excluded by .dockerignore`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(ignored.ignores('node_modules/x') && ignored.ignores('.git/HEAD'), 'the host node_modules and .git stay out of the context');
});

test('the image runs bin/tide.js as the non-root user the Deployments run as', async () => {
  const user = finalStage.filter((i) => i.getKeyword() === 'USER').at(-1)?.getArgumentsContent();
  assert.match(user ?? '', /^\d+:\d+$/, 'USER must be numeric for runAsNonRoot to be checkable');
  const [uid, gid] = user!.split(':').map(Number);
  assert.notEqual(uid, 0);
  const entrypoint = JSON.parse(finalStage.find((i) => i.getKeyword() === 'ENTRYPOINT')!.getArgumentsContent()!) as string[];
  assert.equal(entrypoint.at(-1), `/app/${pkg.bin.tide}`);
  assert.ok(existsSync(join(ROOT, pkg.bin.tide)));
  // The chart's pods too when real helm is there (the real tier); kustomize's always.
  const chart = chartSkip ? [] : await renderChart({ zigbeeAgent: { enabled: true } });
  const pods = [...(await kustomizeWithZigbeeAgent()), ...chart].filter((o) => o.kind === 'Deployment').map(podSpecOf);
  assert.ok(pods.length >= (chartSkip ? 2 : 4));
  for (const pod of pods) assert.deepEqual([pod.securityContext.runAsUser, pod.securityContext.runAsGroup], [uid, gid]);
});

/** Packages a file imports at run time (type-only imports vanish when tsx strips types). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) found.push((node.moduleSpecifier as ts.StringLiteral).text);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) found.push((node.moduleSpecifier as ts.StringLiteral).text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0]!)) found.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

test('src/ and bin/ import at run time only production dependencies (npm ci --omit=dev)', () => {
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && /\.[cm]?[jt]s$/.test(e.name)).map((e) => join(e.parentPath, e.name));
  const missing: string[] = [];
  for (const file of [...files(join(ROOT, 'src')), ...files(join(ROOT, 'bin'))]) {
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      if (!(packageOf(specifier) in pkg.dependencies)) missing.push(`${relative(ROOT, file)}: ${specifier}`);
    }
  }
  assert.deepEqual(missing, [], 'move these to "dependencies" in package.json, or the image fails at start');
});

test('the import scan sees value imports and ignores type-only ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-imports-'));
  try {
    const file = join(dir, 'sample.ts');
    writeFileSync(file, [
      "import type { A } from 'only-types';",
      "import { b } from 'runtime-a';",
      "import c from '@scope/runtime-b/sub';",
      "export type { D } from 'only-types-too';",
      "export { e } from 'runtime-c';",
      "const f = await import('runtime-d');",
      "import './local.ts';",
    ].join('\n'));
    assert.deepEqual(runtimeImports(file), ['runtime-a', '@scope/runtime-b/sub', 'runtime-c', 'runtime-d', './local.ts']);
    assert.equal(packageOf('@scope/runtime-b/sub'), '@scope/runtime-b');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
