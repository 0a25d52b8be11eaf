// The PRISM client SDK: `new PrismClient({ baseUrl, apiKey })`. See docs/api.md.
export {
  PrismClient,
  type ListTasksOptions,
  type PrismClientOptions,
  type WaitOptions,
  type WatchTaskOptions,
} from './client.ts';
export { PrismApiError, PrismTimeoutError } from './errors.ts';
export type * from './types.ts';
