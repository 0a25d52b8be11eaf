// What the stores can keep. PostgreSQL refuses NUL in text and in jsonb, and jsonb refuses a lone UTF-16
// surrogate (a JS string may hold one; it is not Unicode). Text that reaches a store is checked at the edge,
// so that such input is a 400 or a dead letter naming the field, never a failed insert (a 500, or an activity
// retried forever). Pure, without a schema library: the workflow checks signalled answers with it too.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a text could not be stored as is (PostgreSQL, Weaviate), or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (loneSurrogate.test(text)) return 'contains a lone UTF-16 surrogate, which is not Unicode text';
  return undefined;
}

/** The unstorable strings (values and keys) of a JSON value, by path. */
export function unstorableJson(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; message: string }[] {
  if (typeof value === 'string') {
    const message = unstorableText(value);
    return message ? [{ path, message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => unstorableJson(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const message = unstorableText(k);
      return message
        ? [{ path: [...path, k], message: `its key ${message}` }]
        : unstorableJson(v, [...path, k]);
    });
  }
  return [];
}
