/**
 * `x-kubernetes-validations` rules evaluated with @bufbuild/cel (Buf's CEL implementation, run
 * against the CEL conformance suite). Values are handed to CEL typed by the schema, as Kubernetes
 * does: `integer` fields become CEL ints, objects become maps, so `self.min <= self.max`,
 * `has(self.wakeOnLAN)` and `self.name.startsWith('x')` behave as on a real cluster.
 * Transition rules (those that mention `oldSelf`) run only on updates where the old value exists.
 */
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { kubernetesFunctions, undeclaredFunctions } from './cel-kubernetes.ts';
import { fieldError, type StatusCause } from '../status.ts';
import { childPath, fieldSchema, type Schema } from './schema-walk.ts';

interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

type Program = (bindings: Record<string, CelInput>) => unknown;

const env = celEnv({ funcs: [...strings, ...kubernetesFunctions] });

/** Operators the planner evaluates itself (short-circuiting), not through the function table. */
const PLANNER_OPERATORS = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false']);

/** Parses and plans a rule; a call of a function the environment lacks is a compile error, as in cel-go. */
function compile(expr: string): Program {
  const parsed = parse(expr);
  const missing = undeclaredFunctions(parsed.expr, (name) => PLANNER_OPERATORS.has(name) || env.funcs.find(name) !== undefined);
  if (missing.length) throw new Error(`undeclared reference to ${missing.map((m) => `'${m}'`).join(', ')} (this development API server supports standard CEL, the strings, lists and regex libraries)`);
  return plan(env, parsed) as Program;
}

/** A rule's compiled programs, or why it does not compile. */
interface CompiledRule {
  rule: CelRule;
  program: Program;
  messageProgram?: Program;
  transition: boolean;
}

/** Compiles every rule in a schema; returns the compile errors by schema location. */
export class CelRules {
  private readonly compiled = new Map<Schema, CompiledRule[]>();
  readonly errors: { location: string; message: string }[] = [];

  constructor(private readonly schema: Schema) {
    this.compileAll(schema, 'openAPIV3Schema');
  }

  private compileAll(schema: Schema, location: string): void {
    const rules: CelRule[] = schema['x-kubernetes-validations'] ?? [];
    const compiled: CompiledRule[] = [];
    rules.forEach((rule, i) => {
      const where = `${location}.x-kubernetes-validations[${i}]`;
      try {
        compiled.push({
          rule,
          program: compile(rule.rule),
          messageProgram: rule.messageExpression ? compile(rule.messageExpression) : undefined,
          transition: /\boldSelf\b/.test(rule.rule),
        });
      } catch (err) {
        this.errors.push({ location: `${where}.rule`, message: `compilation failed: ${(err as Error).message}` });
      }
    });
    if (compiled.length) this.compiled.set(schema, compiled);
    for (const [key, child] of Object.entries<Schema>(schema.properties ?? {})) this.compileAll(child, `${location}.properties[${key}]`);
    if (schema.items) this.compileAll(schema.items, `${location}.items`);
    if (typeof schema.additionalProperties === 'object') this.compileAll(schema.additionalProperties, `${location}.additionalProperties`);
  }

  /** Whether the schema has any rule (a real server has no CEL validator otherwise). */
  get any(): boolean {
    return this.compiled.size > 0;
  }

  /** Evaluates every rule against the object (and, for transition rules, its previous version). */
  validate(obj: unknown, old: unknown): StatusCause[] {
    const causes: StatusCause[] = [];
    this.walk(this.schema, obj, old, '', causes);
    return causes;
  }

  private walk(schema: Schema, value: unknown, old: unknown, path: string, causes: StatusCause[]): void {
    if (value === undefined || value === null) return;
    for (const c of this.compiled.get(schema) ?? []) {
      if (c.transition && (old === undefined || old === null)) continue;
      const bindings: Record<string, CelInput> = { self: toCel(schema, value) };
      if (c.transition) bindings.oldSelf = toCel(schema, old);
      const result = c.program(bindings);
      if (result === true) continue;
      const field = c.rule.fieldPath ? path + c.rule.fieldPath : path;
      causes.push(ruleCause(c, bindings, field || '<root>', schema, result));
    }
    if (Array.isArray(value) && schema.items) {
      value.forEach((item, i) => this.walk(schema.items, item, undefined, childPath(path, i), causes));
    } else if (typeof value === 'object' && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const oldRecord = (old ?? undefined) as Record<string, unknown> | undefined;
      for (const [key, child] of Object.entries(record)) {
        const childSchema = fieldSchema(schema, key);
        if (childSchema && !(path === '' && key === 'metadata')) this.walk(childSchema, child, oldRecord?.[key], childPath(path, key), causes);
      }
    }
  }
}

function ruleCause(c: CompiledRule, bindings: Record<string, CelInput>, field: string, schema: Schema, result: unknown): StatusCause {
  if (isCelError(result)) {
    return fieldError.invalid(field, typeName(schema), `${(result as Error).message} evaluating rule: ${c.rule.message || c.rule.rule}`);
  }
  let message = c.rule.message || `failed rule: ${c.rule.rule}`;
  if (c.messageProgram) {
    const m = c.messageProgram(bindings);
    if (typeof m === 'string' && m) message = m;
  }
  switch (c.rule.reason) {
    case 'FieldValueRequired':
      return fieldError.required(field, message);
    case 'FieldValueForbidden':
      return fieldError.forbidden(field, message);
    case 'FieldValueDuplicate':
      return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${message}` };
    default:
      // A failed rule names no value (Kubernetes 1.37: `spec.x: Invalid value: <message>`).
      return fieldError.invalidWithoutValue(field, message);
  }
}

/** A rule that fails to evaluate names the value by its type: `Invalid value: "object": …`. */
const typeName = (schema: Schema): string => schema.type ?? 'object';

/** JSON → CEL values, typed by the schema where it says (integers as ints, objects as maps). */
function toCel(schema: Schema | undefined, value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => toCel(schema?.items, v));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]): [string, CelInput] => {
      return [k, toCel(fieldSchema(schema, k), v)];
    });
    return new Map(entries);
  }
  if (typeof value === 'number') {
    const integer = schema?.type === 'integer' || (schema?.type !== 'number' && Number.isInteger(value));
    return integer ? BigInt(value) : value;
  }
  return value as CelInput;
}
