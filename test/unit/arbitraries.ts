// Bad input, generated: the strings and values the property tests throw at every parser at a boundary.
import fc from 'fast-check';

/** A lone UTF-16 surrogate: a JS string may hold one, no store can. */
export const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((code) => String.fromCharCode(code));

/** Strings of every kind: ASCII, any code point, graphemes, control characters, NUL, lone surrogates. */
export const anyString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    fc.string({
      unit: fc.oneof(fc.constant('\u0000'), loneSurrogate, fc.string({ maxLength: 1 })),
      maxLength,
    }),
  );

/** A huge string of 4 001 to 300 000 code points (what limits count), made of one repeated piece. */
export const hugeString = fc
  .tuple(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
    fc.integer({ min: 4_001, max: 300_000 }),
  )
  .map(([piece, length]) => piece.repeat(Math.ceil(length / [...piece].length)));

/** Any JSON value, its strings of every kind. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({
  maxDepth: 3,
  stringUnit: fc.oneof(fc.constant('\u0000'), loneSurrogate, fc.string({ unit: 'binary', maxLength: 1 })),
});

/** Any value at all (JSON or not): what a client in another language, or a bug, may hand over. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.anything({ maxDepth: 2 }),
  anyString(),
  fc.constant(undefined),
);

/** `base` with one field replaced by any value (or removed), and the field's name. */
export function mutated<T extends Record<string, unknown>>(
  base: T,
  extraKeys: readonly string[] = ['unknownField'],
): fc.Arbitrary<{ key: string; value: Record<string, unknown> }> {
  return fc
    .tuple(fc.constantFrom(...Object.keys(base), ...extraKeys), fc.option(anyValue, { nil: undefined }))
    .map(([key, v]) => {
      const value: Record<string, unknown> = { ...base };
      if (v === undefined) delete value[key];
      else value[key] = v;
      return { key, value };
    });
}
