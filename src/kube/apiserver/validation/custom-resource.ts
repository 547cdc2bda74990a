/** Validation of one custom resource version: its CRD's openAPIV3Schema plus CEL rules. */
import type { ValidateFunction } from 'ajv';
import type { StatusCause } from '../status.ts';
import type { KubeObject, ObjectValidator } from '../types.ts';
import { compileSchema, schemaCauses } from './ajv-schema.ts';
import { CelRules } from './cel.ts';
import { listTypeCauses } from './list-types.ts';
import { pruneAndDefault, type Schema } from './schema-walk.ts';

/** Errors after which the real server does not evaluate CEL rules (apiextensions' hasBlockingErr). */
const BLOCKING = new Set(['FieldValueNotSupported', 'FieldValueRequired', 'FieldValueTooLong', 'FieldValueTooMany', 'FieldValueTypeInvalid']);
const RULES_NOT_CHECKED: StatusCause = {
  reason: 'FieldValueInvalid',
  field: '<nil>',
  message: 'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
};

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

  /**
   * Schema causes, then CEL's. As on the real server, a blocking error (among these or the
   * metadata causes already found, `prior`) means the rules do not run, which a last cause says.
   */
  validate(obj: KubeObject, old?: KubeObject, prior: StatusCause[] = []): StatusCause[] {
    const causes = [...schemaCauses(this.validateSchema, obj), ...listTypeCauses(this.schema, obj)];
    if (!this.rules.any) return causes;
    if ([...prior, ...causes].some((c) => BLOCKING.has(c.reason))) return [...causes, RULES_NOT_CHECKED];
    return [...causes, ...this.rules.validate(obj, old)];
  }
}
