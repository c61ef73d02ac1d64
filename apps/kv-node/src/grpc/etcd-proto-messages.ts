/**
 * The message types of etcd's vendored `.proto` files (see `proto/README.md`), read into plain
 * field tables: what the JSON gateway's mapping (`http/proto-json.ts`) is built from, so the
 * protos are the one description of etcd's messages for gRPC and JSON alike.
 */

import { etcdProtoDefinition } from './etcd-proto.js';

/** How a field's value is written in protobuf JSON (proto3's JSON mapping). */
export type FieldKind =
  | 'int64'
  | 'uint64'
  | 'int32'
  | 'uint32'
  | 'float'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'enum'
  | 'message';

/** One field of a message, as the JSON mapping needs it. */
export interface FieldShape {
  /** The name in the `.proto` file (`range_end`), which etcd's gateway writes. */
  protoName: string;
  /** proto3's lowerCamel JSON name (`rangeEnd`), which the gateway also reads. */
  jsonName: string;
  kind: FieldKind;
  repeated: boolean;
  /** For enums: each value's name, by number. */
  enumNames?: ReadonlyMap<number, string>;
  /**
   * For enums: the type's name as Go's protobuf names it (`etcdserverpb.RangeRequest_SortOrder`),
   * which etcd's gateway puts in its error for an unknown value.
   */
  enumGoName?: string;
  /** For messages: the full name of the field's type (`mvccpb.KeyValue`). */
  messageType?: string;
}

/** A message type: its full name and its fields in declaration order. */
export interface MessageShape {
  fullName: string;
  fields: readonly FieldShape[];
}

const KINDS: Record<string, FieldKind> = {
  TYPE_INT64: 'int64',
  TYPE_SINT64: 'int64',
  TYPE_SFIXED64: 'int64',
  TYPE_UINT64: 'uint64',
  TYPE_FIXED64: 'uint64',
  TYPE_INT32: 'int32',
  TYPE_SINT32: 'int32',
  TYPE_SFIXED32: 'int32',
  TYPE_UINT32: 'uint32',
  TYPE_FIXED32: 'uint32',
  TYPE_DOUBLE: 'float',
  TYPE_FLOAT: 'float',
  TYPE_BOOL: 'bool',
  TYPE_STRING: 'string',
  TYPE_BYTES: 'bytes',
  TYPE_ENUM: 'enum',
  TYPE_MESSAGE: 'message',
};

/** The parts of protobuf's descriptor objects (as proto-loader gives them) read here. */
interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
  jsonName?: string;
}
interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  enumType: EnumDescriptor[];
  nestedType: MessageDescriptor[];
}

/** proto3's JSON name: underscores dropped, the letter after each one upper-cased. */
function lowerCamel(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_match, next: string) => next.toUpperCase());
}

function enumNames(descriptor: EnumDescriptor): ReadonlyMap<number, string> {
  return new Map(descriptor.value.map((value) => [value.number, value.name]));
}

/** Candidate full names of `typeName` used inside `scope`, innermost scope first (protobuf's rule). */
function candidates(typeName: string, scope: string): string[] {
  if (typeName.startsWith('.')) return [typeName.slice(1)];
  const names: string[] = [];
  const parts = scope.split('.');
  for (let length = parts.length; length > 0; length--) {
    names.push(`${parts.slice(0, length).join('.')}.${typeName}`);
  }
  names.push(typeName);
  return names;
}

/**
 * Go's name of a protobuf type: its package, then the nested names joined by `_` (etcd's
 * packages are one word each: `etcdserverpb`, `mvccpb`, `authpb`, `v3lockpb`, `v3electionpb`).
 */
function goName(fullName: string): string {
  const [pkg, ...nested] = fullName.split('.');
  return `${pkg}.${nested.join('_')}`;
}

let loaded: ReadonlyMap<string, MessageShape> | undefined;

/**
 * Every message type of etcd's `rpc.proto`, `v3lock.proto` and `v3election.proto` (and what they
 * import), by full name. Read once, from the definition the gRPC services are loaded from.
 *
 * @throws Error if the `.proto` files are missing (a broken build) or use what proto3's JSON
 *   mapping here does not cover (maps, groups).
 */
export function etcdMessageShapes(): ReadonlyMap<string, MessageShape> {
  if (loaded !== undefined) return loaded;
  const definition = etcdProtoDefinition();
  const messages = new Map<string, MessageDescriptor>();
  const enums = new Map<string, ReadonlyMap<number, string>>();
  const addNested = (fullName: string, descriptor: MessageDescriptor): void => {
    messages.set(fullName, descriptor);
    for (const nested of descriptor.enumType) {
      enums.set(`${fullName}.${nested.name}`, enumNames(nested));
    }
    for (const nested of descriptor.nestedType) addNested(`${fullName}.${nested.name}`, nested);
  };
  for (const [fullName, entry] of Object.entries(definition)) {
    const format = 'format' in entry ? entry.format : undefined;
    if (typeof format !== 'string') continue;
    if (format.endsWith('EnumDescriptorProto')) {
      enums.set(fullName, enumNames(entry.type as EnumDescriptor));
    } else if (format.endsWith(' DescriptorProto')) {
      addNested(fullName, entry.type as MessageDescriptor);
    }
  }
  const shapes = new Map<string, MessageShape>();
  for (const [fullName, descriptor] of messages) {
    const fields = descriptor.field.map((field): FieldShape => {
      const kind = KINDS[field.type];
      if (kind === undefined)
        throw new Error(`${fullName}.${field.name}: ${field.type} is not mapped`);
      const shape: FieldShape = {
        protoName: field.name,
        jsonName:
          field.jsonName === undefined || field.jsonName === ''
            ? lowerCamel(field.name)
            : field.jsonName,
        kind,
        repeated: field.label === 'LABEL_REPEATED',
      };
      if (kind === 'enum' || kind === 'message') {
        const known = candidates(field.typeName, fullName).find((name) =>
          kind === 'enum' ? enums.has(name) : messages.has(name),
        );
        if (known === undefined) {
          throw new Error(`${fullName}.${field.name}: type ${field.typeName} not found`);
        }
        if (kind === 'enum') {
          shape.enumNames = enums.get(known) as ReadonlyMap<number, string>;
          shape.enumGoName = goName(known);
        } else {
          shape.messageType = known;
        }
      }
      return shape;
    });
    shapes.set(fullName, { fullName, fields });
  }
  loaded = shapes;
  return shapes;
}
