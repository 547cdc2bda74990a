/** Validation of one custom resource version: its CRD's openAPIV3Schema plus CEL rules. */
import type { ValidateFunction } from 'ajv';
import type { StatusCause } from '../status.ts';
import type { KubeObject, ObjectValidator } from '../types.ts';
import { compileSchema, schemaCauses } from './ajv-schema.ts';
import { CelRules } from './cel.ts';
import { listTypeCauses } from './list-types.ts';
import { pruneAndDefault, type Schema } from './schema-walk.ts';

export class CustomResourceValidator implements ObjectValidator {
  private readonly validateSchema: ValidateFunction;
  private readonly rules: CelRules;

  constructor(private readonly schema: Schema) {
    this.validateSchema = compileSchema(schema);
    this.rules = new CelRules(schema);
  }

  /** CEL rules that do not compile, by schema location (the CRD is rejected for them). */
  get ruleErrors() {
    return this.rules.errors;
  }

  pruneAndDefault(obj: KubeObject): string[] {
    return pruneAndDefault(this.schema, obj);
  }

  validate(obj: KubeObject, old?: KubeObject): StatusCause[] {
    const causes = [...schemaCauses(this.validateSchema, obj), ...listTypeCauses(this.schema, obj)];
    // Like the real server, CEL rules are skipped only when a value has the wrong type.
    const typeErrors = causes.some((c) => c.message.includes(' must be of type '));
    return typeErrors ? causes : [...causes, ...this.rules.validate(obj, old)];
  }
}
