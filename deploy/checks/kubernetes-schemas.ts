/**
 * Validation of Kubernetes manifests against the API schemas of their kinds, from the
 * kubernetes-models package: its generated validators check types, formats and required fields,
 * and its generated TypeScript interfaces reject fields the API does not have (as
 * `kubectl apply --validate=strict` does), which the OpenAPI schemas alone allow.
 */

import { dirname, join } from 'node:path';
import ts from 'typescript';

/** A Kubernetes object as read from a manifest. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Where a manifest document came from, for messages. */
export interface ManifestDocument {
  source: string;
  object: KubernetesObject;
}

interface KindModel {
  /** kubernetes-models module that exports the model class and its interface. */
  module: string;
  /** Name of the exported interface (`I` + kind). */
  interfaceName: string;
}

/** The kinds the reference deployment uses; another kind is an error until added here. */
const KIND_MODELS: ReadonlyMap<string, KindModel> = new Map([
  [
    'apps/v1 StatefulSet',
    { module: 'kubernetes-models/apps/v1/StatefulSet', interfaceName: 'IStatefulSet' },
  ],
  ['v1 Service', { module: 'kubernetes-models/v1/Service', interfaceName: 'IService' }],
  ['v1 Secret', { module: 'kubernetes-models/v1/Secret', interfaceName: 'ISecret' }],
  [
    'v1 ServiceAccount',
    { module: 'kubernetes-models/v1/ServiceAccount', interfaceName: 'IServiceAccount' },
  ],
  [
    'rbac.authorization.k8s.io/v1 Role',
    { module: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role', interfaceName: 'IRole' },
  ],
  [
    'rbac.authorization.k8s.io/v1 RoleBinding',
    {
      module: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
      interfaceName: 'IRoleBinding',
    },
  ],
  [
    'policy/v1 PodDisruptionBudget',
    {
      module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
      interfaceName: 'IPodDisruptionBudget',
    },
  ],
]);

function modelOf(object: KubernetesObject): KindModel {
  const model = KIND_MODELS.get(`${object.apiVersion} ${object.kind}`);
  if (model === undefined) {
    throw new Error(`no schema registered for ${object.apiVersion} ${object.kind}`);
  }
  return model;
}

/** Shape of a kubernetes-models model class: constructing it copies the data, validate() checks it. */
type ModelClass = new (data: unknown) => { validate(): void };

/**
 * Validates one object against the OpenAPI schema of its kind.
 *
 * @returns the problems found, empty when valid.
 */
export async function validateAgainstSchema(document: ManifestDocument): Promise<string[]> {
  const model = modelOf(document.object);
  const exports = (await import(model.module)) as Record<string, unknown>;
  const ModelOfKind = exports[document.object.kind] as ModelClass;
  try {
    new ModelOfKind(document.object).validate();
    return [];
  } catch (error) {
    return [`${document.source}: ${(error as Error).message}`];
  }
}

/**
 * Type-checks every object against the TypeScript interface of its kind, which rejects unknown
 * fields at any depth (a misspelt `readinesProbe` is silently dropped by an API server that is not
 * strict, leaving a pod without a probe).
 *
 * @param near a file in the workspace: module resolution starts from its directory.
 * @returns the problems found, empty when every object type-checks.
 */
export function findUnknownFields(documents: readonly ManifestDocument[], near: string): string[] {
  const fileName = join(dirname(near), '__kubernetes-manifests__.ts');
  const lines: string[] = [];
  const lineOwners: string[] = [];
  const emit = (line: string, owner: string): void => {
    lines.push(line);
    lineOwners.push(owner);
  };
  documents.forEach((document, index) => {
    const model = modelOf(document.object);
    emit(
      `import type { ${model.interfaceName} as Kind${index} } from '${model.module}';`,
      document.source,
    );
  });
  documents.forEach((document, index) => {
    const body = JSON.stringify(document.object, null, 2).split('\n');
    body.forEach((line, lineIndex) => {
      const prefix = lineIndex === 0 ? `export const document${index} = ` : '';
      const suffix = lineIndex === body.length - 1 ? ` satisfies Kind${index};` : '';
      emit(prefix + line + suffix, document.source);
    });
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    // Only the ES library: no DOM declarations to load, which keeps the check to a few seconds.
    lib: ['lib.es2022.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (path) => (path === fileName ? source : readFile(path));
  host.fileExists = (path) => path === fileName || ts.sys.fileExists(path);
  host.getSourceFile = (path, languageVersion, ...rest) =>
    path === fileName
      ? ts.createSourceFile(path, source, languageVersion, true)
      : getSourceFile(path, languageVersion, ...rest);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file?.fileName !== fileName || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${lineOwners[line] ?? '?'}: ${lines[line]?.trim() ?? ''}: ${message}`;
  });
}
