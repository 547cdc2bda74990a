/**
 * Reads Kubernetes manifests as kubectl does for `-f`: files or folders (their *.yaml, *.yml and
 * *.json files in name order, not recursing), multi-document YAML, empty documents skipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './apiserver/types.ts';

const MANIFEST = /\.(ya?ml|json)$/;

export function readManifests(...paths: string[]): KubeObject[] {
  return paths.flatMap((path) => {
    const files = statSync(path).isDirectory()
      ? readdirSync(path).filter((f) => MANIFEST.test(f)).sort().map((f) => join(path, f))
      : [path];
    return files.flatMap(readManifestFile);
  });
}

function readManifestFile(file: string): KubeObject[] {
  // YAML 1.1, as kubectl reads manifests: an unquoted On/Off/yes/no is a boolean there too.
  return parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' }).flatMap((doc, i) => {
    if (doc.errors.length) throw new Error(`${file}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj === null) return [];
    if (typeof obj !== 'object' || !obj.kind || !obj.apiVersion) throw new Error(`${file}: document ${i + 1} has no apiVersion/kind`);
    return [obj];
  });
}
