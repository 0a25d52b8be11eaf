// One way to turn a failed validation into field problems, for every edge to render its own way: an HTTP
// 400 body (`fields`), a CLI message, a dead letter's reason, a configuration error, a workflow failure's
// details. Field names are paths (`plan.0.dependsOn`, `parameters.machine`), prefixed by where the value
// came from (`body`, `payload`, ...).
import { z } from 'zod';
import { PrismError, type ErrorCode } from './errors.ts';
import { unstorableJson, unstorableText } from './storable.ts';

export { unstorableJson, unstorableText } from './storable.ts';

export interface FieldProblem {
  /** Where the problem is, e.g. `body.plan.0.key` or `payload.deadlineAt`. */
  field: string;
  message: string;
}

/** Input that failed validation; `problems` names every failing field (also its `details`). */
export class ValidationError extends PrismError {
  constructor(
    readonly problems: FieldProblem[],
    /** What was invalid, e.g. "invalid task request". */
    readonly what = 'invalid input',
    /** A client error always; the code says of what (INVALID_INPUT, INVALID_PARAMETERS, ...). */
    code: ErrorCode = 'INVALID_INPUT',
  ) {
    super(code, `${what}: ${describeProblems(problems)}`, { details: problems });
    this.name = 'ValidationError';
  }

  /** The same problems, found under `prefix` (e.g. the request body of an HTTP call). */
  under(prefix: string): ValidationError {
    return new ValidationError(
      this.problems.map((p) => ({ ...p, field: joinPath([prefix, p.field]) })),
      this.what,
      this.code,
    );
  }
}

/** `a: required; b.c: expected number` — one line a person can act on. */
export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

function joinPath(parts: readonly string[]): string {
  return parts.filter((p) => p !== '').join('.');
}

/**
 * The problems of zod issues. Parse with `{ reportInput: true }` so that an absent value reads "required"
 * (zod 4 keeps the input only when asked); otherwise its message says "received undefined", which is read
 * the same way.
 */
export function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  prefix = '',
  /** What to call the value itself, for a problem with no path. */
  whole = '(value)',
): FieldProblem[] {
  return issues.flatMap((issue) => {
    const path = joinPath([prefix, ...issue.path.map(String)]);
    const at = path || whole;
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: joinPath([path, key]),
        message: 'unknown field (check its spelling)',
      }));
    }
    const absent =
      issue.code === 'invalid_type' &&
      (('input' in issue && issue.input === undefined) || /received undefined$/.test(issue.message));
    return [{ field: at, message: absent ? 'required' : tidy(issue.message) }];
  });
}

const tidy = (message: string) => message.replace(/^Invalid (input|option): /, '');

/** Parses `input` with `schema`; throws a ValidationError naming every bad field (under `prefix`). */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: { prefix?: string; what?: string } = {},
): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ValidationError(problemsOf(result.error.issues, options.prefix), options.what);
}

/** `schema` (a string schema) that also refuses text no store can hold (see unstorableText). */
export function storable<S extends z.ZodString>(schema: S): S {
  return schema.superRefine((text, ctx) => {
    const message = unstorableText(text);
    if (message) ctx.addIssue({ code: 'custom', message });
  }) as S;
}

// JavaScript's whitespace (what trim() removes), spelt out: a JSON Schema `pattern` is also run by clients
// in other languages, whose \s differs (Python's leaves out U+FEFF).
const notBlank = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** Text a person writes: trimmed, not blank (a `pattern` in JSON Schema), storable, at most `max` long. */
export function nonBlankText(max: number) {
  return storable(z.string().trim().regex(notBlank, 'must not be empty').max(max));
}

/**
 * A JSON object a client hands over as is (parameters, metadata, config): storable text only, and at most
 * `maxBytes` as JSON, so that it fits in a Kafka message, a Temporal payload and a PostgreSQL row.
 */
export function jsonObject(maxBytes: number) {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    for (const problem of unstorableJson(value)) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be plain JSON' });
      return;
    }
    if (bytes > maxBytes) {
      ctx.addIssue({
        code: 'custom',
        message: `${bytes} bytes as JSON, at most ${maxBytes}: pass large data by reference (an id or a URL)`,
      });
    }
  });
}
