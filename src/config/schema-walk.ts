import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

interface Definition {
  type: string;
  innerType?: AnySchema;
  element?: AnySchema;
  shape?: Record<string, AnySchema>;
  options?: AnySchema[];
  discriminator?: string;
  in?: AnySchema;
}

function definitionOf(schema: AnySchema): Definition {
  return (schema as unknown as { _zod: { def: Definition } })._zod.def;
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const definition = definitionOf(current);
    if (definition.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(definition.type)) {
      current = definition.innerType;
    } else if (definition.type === 'pipe' && definition.in) {
      current = definition.in;
    } else {
      return current;
    }
  }
}

/** The schema that validates the value at `path`, choosing union members by the document's own values. */
export function schemaAt(root: AnySchema, path: readonly PropertyKey[], document: unknown): AnySchema | undefined {
  let schema: AnySchema | undefined = unwrap(root);
  let value: unknown = document;
  for (const part of path) {
    schema = pickUnionMember(schema, value);
    if (!schema) return undefined;
    const definition = definitionOf(schema);
    if (definition.type === 'object' && definition.shape) schema = definition.shape[String(part)];
    else if (definition.type === 'array' && definition.element) schema = definition.element;
    else if (definition.type === 'record') schema = (definition as unknown as { valueType: AnySchema }).valueType;
    else return undefined;
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part as string] : undefined;
    schema = schema ? unwrap(schema) : undefined;
  }
  return schema ? pickUnionMember(schema, value) : undefined;
}

function pickUnionMember(schema: AnySchema | undefined, value: unknown): AnySchema | undefined {
  if (!schema) return undefined;
  const definition = definitionOf(schema);
  if (definition.type !== 'union' || !definition.options) return schema;
  if (definition.discriminator && value !== null && typeof value === 'object') {
    const wanted = (value as Record<string, unknown>)[definition.discriminator];
    for (const option of definition.options) {
      const member = unwrap(option);
      const shape = definitionOf(member).shape;
      const literal = shape?.[definition.discriminator];
      const values = literal ? (definitionOf(literal) as unknown as { values?: unknown[] }).values : undefined;
      if (values?.includes(wanted)) return member;
    }
  }
  return undefined;
}

/** Field names a mapping at `path` accepts. */
export function knownKeysAt(root: AnySchema, path: readonly PropertyKey[], document: unknown): string[] {
  const schema = schemaAt(root, path, document);
  if (!schema) return [];
  const shape = definitionOf(schema).shape;
  return shape ? Object.keys(shape) : [];
}
