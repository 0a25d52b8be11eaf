import { randomUUID } from 'node:crypto';
import { loadConfig, type Env } from '../src/config.ts';

export const env: Env = loadConfig();

/** A unique, recognisable id for data a test creates (and later deletes). */
export function testId(prefix: string): string {
  return `test_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
