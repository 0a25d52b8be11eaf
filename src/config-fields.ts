// The kinds of value the configuration's variables hold, shared by the product's schema (src/config.ts) and
// the installer's (src/stack/config.ts).
import { existsSync } from 'node:fs';
import { z } from 'zod';

/** `message` for a value of the wrong kind; zod's own for one out of range. */
const typeMessage = (message: string) => (issue: { code: string }) =>
  issue.code === 'invalid_type' ? message : undefined;
/** `schema`, for a number given as a string only when it is written as `written` matches. */
const numberWritten = (written: RegExp, schema: z.ZodNumber) =>
  z.preprocess((value) => (typeof value === 'string' && written.test(value) ? Number(value) : value), schema);
/**
 * A whole number written in decimal digits (blanks around them ignored), from `min` to `max`. Number() would
 * also take "1.", "1e3", "0x10" and "", so a typo could pass for a setting nobody meant.
 */
export const wholeNumber = (min: number, max: number) =>
  numberWritten(
    /^\s*\d+\s*$/,
    z
      .number({ error: typeMessage('a whole number') })
      .int('a whole number')
      .min(min)
      .max(max),
  );
/** A number in decimal notation ("0.05", "3"), from `min` to `max`. */
export const decimal = (min: number, max: number) =>
  numberWritten(
    /^\s*\d+(\.\d+)?\s*$/,
    z
      .number({ error: typeMessage('a number such as 0.5') })
      .min(min)
      .max(max),
  );
export const port = wholeNumber(1, 65535);
/** Five cron fields (minute hour day-of-month month day-of-week), as Temporal Schedules take them. */
export const cron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4}\S+$/, 'a cron expression of five fields, such as "0 2 * * *"');
export const host = z.string().min(1);
/** One host or several, comma-separated (the nodes of a cluster). */
export const hostList = z
  .string()
  .regex(/^[^,:\s]+(,[^,:\s]+)*$/, 'a host, or a comma-separated list of hosts');
/** One host:port or several, comma-separated. */
export const hostPortList = z
  .string()
  .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port, or a comma-separated list of host:port');
export const secret = z.string().min(8, 'at least 8 characters');
/** The path of a file that exists (a CA, a certificate, a key). */
export const existingFile = z
  .string()
  .min(1)
  .refine((file) => existsSync(file), 'no such file');
// Kafka's passwords go into JAAS strings and kafka-configs' `SCRAM-SHA-512=[password=...]`, where quotes,
// backslashes, commas, brackets and '=' would change their meaning: base64 and base64url characters only.
export const kafkaSecret = secret.regex(/^[A-Za-z0-9._~+/-]+$/, 'letters, digits and - _ . ~ + / only');
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Each variable of `shape` as given when its value is valid, else its default: the variables a process does
 * not read (another component's, the installer's) never stop it, whatever they hold.
 */
export function lenientlyParsed(
  shape: Record<string, z.ZodType>,
  raw: Record<string, string | undefined>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => {
      const given = schema.safeParse(raw[name]);
      return [name, given.success ? given.data : schema.safeParse(undefined).data];
    }),
  );
}
