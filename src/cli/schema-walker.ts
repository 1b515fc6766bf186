/**
 * Checks a value against the small part of JSON Schema that holdfast.schema.json uses: type, enum,
 * minimum, maximum, minLength, properties, additionalProperties: false, required, items and local
 * $refs. The published schema is the one the CLI checks with, so the two cannot disagree; a keyword
 * outside that part is refused when the schema is loaded rather than silently skipped.
 */

export interface SchemaNode {
  type?: JsonType | JsonType[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: false;
  required?: string[];
  items?: SchemaNode;
  $ref?: string;
  $defs?: Record<string, SchemaNode>;
}

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

/** Keywords the walker understands, and those that only document (editors show them). */
const CHECKED = new Set(['type', 'enum', 'minimum', 'maximum', 'minLength', 'properties', 'additionalProperties', 'required', 'items', '$ref', '$defs']);
const DOCUMENTING = new Set(['$schema', '$id', 'title', 'description']);

/** A value that breaks the schema: `path` is where (`topics[1].mode`), `problem` what is wrong. */
export class SchemaViolation extends Error {
  override name = 'SchemaViolation';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path === '' ? 'the configuration' : path} ${problem}`);
  }
}

/** Throws a SchemaViolation for the first problem found, in document order. */
export function checkAgainstSchema(value: unknown, root: SchemaNode): void {
  walk(value, root, root, '');
}

/** Throws when the schema uses a keyword the walker would ignore (a check nobody would notice missing). */
export function assertSupportedSchema(node: SchemaNode, at = '#'): void {
  for (const [keyword, inner] of Object.entries(node)) {
    if (DOCUMENTING.has(keyword)) continue;
    if (!CHECKED.has(keyword)) throw new Error(`holdfast.schema.json: keyword '${keyword}' at ${at} is not supported by the CLI's schema walker`);
    if (keyword === 'properties' || keyword === '$defs') {
      for (const [name, child] of Object.entries(inner as Record<string, SchemaNode>)) assertSupportedSchema(child, `${at}/${keyword}/${name}`);
    }
    if (keyword === 'items') assertSupportedSchema(inner as SchemaNode, `${at}/items`);
  }
}

function walk(value: unknown, node: SchemaNode, root: SchemaNode, path: string): void {
  if (node.$ref !== undefined) return walk(value, resolveRef(node.$ref, root), root, path);
  if (node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((type) => hasType(value, type))) throw new SchemaViolation(path, `must be ${types.map(article).join(' or ')}, got ${show(value)}`);
  }
  if (node.enum !== undefined && !node.enum.includes(value)) throw new SchemaViolation(path, `must be ${alternatives(node.enum.map(show))}, got ${show(value)}`);
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) throw new SchemaViolation(path, `must be at least ${node.minimum}, got ${value}`);
    if (node.maximum !== undefined && value > node.maximum) throw new SchemaViolation(path, `must be at most ${node.maximum}, got ${value}`);
  }
  if (typeof value === 'string' && node.minLength !== undefined && value.length < node.minLength) {
    throw new SchemaViolation(path, node.minLength === 1 ? 'must not be empty' : `must be at least ${node.minLength} characters long`);
  }
  if (Array.isArray(value) && node.items !== undefined) {
    value.forEach((item, index) => walk(item, node.items!, root, `${path}[${index}]`));
  }
  if (isObject(value)) {
    const properties = node.properties ?? {};
    for (const [key, item] of Object.entries(value)) {
      const child = properties[key];
      const childPath = path === '' ? key : `${path}.${key}`;
      if (child === undefined) {
        if (node.additionalProperties === false) throw new SchemaViolation(childPath, `is not a known key (known: ${Object.keys(properties).join(', ')})`);
        continue;
      }
      walk(item, child, root, childPath);
    }
    for (const key of node.required ?? []) {
      if (!(key in value)) throw new SchemaViolation(path === '' ? key : `${path}.${key}`, 'is required');
    }
  }
}

function resolveRef(ref: string, root: SchemaNode): SchemaNode {
  const name = /^#\/\$defs\/([^/]+)$/.exec(ref)?.[1];
  const target = name === undefined ? undefined : root.$defs?.[name];
  if (target === undefined) throw new Error(`holdfast.schema.json: cannot resolve $ref '${ref}'`);
  return target;
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function article(type: JsonType): string {
  return { object: 'an object', array: 'an array', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null' }[type];
}

/** `"a", "b" or "c"` */
function alternatives(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? 'nothing') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)!}`;
}

/** A value as JSON, cut short: the message stays one line. */
function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
