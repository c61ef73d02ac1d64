/** Validation of Compose files against the Compose Specification's JSON schema. */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The Compose Specification schema as dclint ships it (kept in step with compose-spec upstream);
 * the package's exports map does not expose the file, so it is found beside its package.json.
 */
function loadComposeSchema(): object {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve('dclint/package.json'));
  return JSON.parse(
    readFileSync(join(packageRoot, 'schemas', 'compose.schema.json'), 'utf8'),
  ) as object;
}

/**
 * Validates a parsed Compose file (merge keys already resolved) against the Compose schema.
 *
 * @returns the problems found as `instancePath: message`, empty when valid.
 */
export function validateComposeFile(compose: unknown): string[] {
  validateCompose ??= compileComposeSchema();
  const validate = validateCompose;
  if (validate(compose)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `${error.instancePath || '/'}: ${error.message ?? 'invalid'} ${JSON.stringify(error.params)}`,
  );
}

let validateCompose: ValidateFunction | undefined;

function compileComposeSchema(): ValidateFunction {
  // strict: false because the schema uses annotation keywords (deprecated) Ajv does not know.
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names draft-07 by an https URL Ajv does not register; Ajv's default class is
  // draft-07, so the schema is compiled under it without the unresolvable reference.
  const { $schema: _draft, ...schema } = loadComposeSchema() as { $schema?: string };
  return ajv.compile(schema);
}
