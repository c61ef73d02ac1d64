/** Reads YAML files the way the tools that consume them do, failing on anything ambiguous. */

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** Options of {@link readYamlDocuments}. */
export interface YamlReadOptions {
  /**
   * Resolve `<<` merge keys (Compose supports them; Kubernetes manifests here do not use them).
   */
  merge?: boolean;
}

/**
 * Parses every document of a YAML file into plain JavaScript values.
 *
 * @throws Error naming the file and the first parse error or warning (duplicate keys, tabs, ...).
 */
export function readYamlDocuments(path: string, options: YamlReadOptions = {}): unknown[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'), {
    merge: options.merge ?? false,
    uniqueKeys: true,
    prettyErrors: true,
  });
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => {
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem !== undefined) throw new Error(`${path}: ${problem.message}`);
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  });
}
