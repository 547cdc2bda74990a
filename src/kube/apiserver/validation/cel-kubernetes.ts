/**
 * The parts of Kubernetes' CEL environment beyond standard CEL and the strings extension that
 * CRD authors commonly use: the list library (`isSorted`, `sum`, `min`, `max`, `indexOf`,
 * `lastIndexOf`) and the regex library (`find`, `findAll`). Rules calling anything else are
 * refused when the CRD is applied (see undeclaredFunctions), never at object-write time.
 */
import { CelScalar, celList, celMethod, listType, type CelValue } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

const { DYN, INT, STRING, BOOL } = CelScalar;
const LIST = listType(DYN);
const LIST_STRING = listType(STRING);

const values = (list: Iterable<CelValue>) => [...list];

function compare(a: CelValue, b: CelValue): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const [x, y] = [Number(a), Number(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function extreme(list: Iterable<CelValue>, sign: 1 | -1): CelValue {
  const items = values(list);
  if (items.length === 0) throw new Error('min/max of an empty list');
  return items.reduce((best, v) => (compare(v, best) * sign > 0 ? v : best));
}

function sum(this: Iterable<CelValue>): CelValue {
  const items = values(this);
  if (items.length === 0) return 0n;
  return items.reduce((acc: any, v: any) => (typeof acc === 'bigint' && typeof v === 'bigint' ? acc + v : Number(acc) + Number(v)));
}

const equal = (a: CelValue, b: CelValue) => a === b || (typeof a !== 'object' && typeof b !== 'object' && compare(a, b) === 0 && typeof a === typeof b);

export const kubernetesFunctions = [
  celMethod('isSorted', LIST, [], BOOL, function () {
    const items = values(this);
    return items.every((v, i) => i === 0 || compare(items[i - 1]!, v) <= 0);
  }),
  celMethod('sum', LIST, [], DYN, sum),
  celMethod('min', LIST, [], DYN, function () {
    return extreme(this, -1);
  }),
  celMethod('max', LIST, [], DYN, function () {
    return extreme(this, 1);
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (x) {
    return BigInt(values(this).findIndex((v) => equal(v, x)));
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (x) {
    const items = values(this);
    for (let i = items.length - 1; i >= 0; i--) if (equal(items[i]!, x)) return BigInt(i);
    return -1n;
  }),
  celMethod('find', STRING, [STRING], STRING, function (pattern) {
    return new RegExp(pattern).exec(this)?.[0] ?? '';
  }),
  celMethod('findAll', STRING, [STRING], LIST_STRING, function (pattern) {
    return celList([...this.matchAll(new RegExp(pattern, 'g'))].map((m) => m[0]));
  }),
];

/** Names of the functions an expression calls that `known` does not define (macros excluded: the parser expands them). */
export function undeclaredFunctions(expr: Expr | undefined, known: (name: string) => boolean): string[] {
  const missing = new Set<string>();
  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'callExpr':
        if (!known(k.value.function)) missing.add(k.value.function);
        visit(k.value.target);
        k.value.args.forEach(visit);
        break;
      case 'selectExpr':
        visit(k.value.operand);
        break;
      case 'listExpr':
        k.value.elements.forEach(visit);
        break;
      case 'structExpr':
        k.value.entries.forEach((entry) => {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
          visit(entry.value);
        });
        break;
      case 'comprehensionExpr':
        [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result].forEach(visit);
        break;
      default:
        break;
    }
  };
  visit(expr);
  return [...missing];
}
