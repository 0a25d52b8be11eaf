import type { ChainableCommander } from 'ioredis';

/**
 * Runs a MULTI or pipeline and returns its replies in order. ioredis reports a failed command as an
 * [error, reply] pair instead of rejecting; this throws the first error so no failure goes unnoticed.
 */
export async function execAll(chain: ChainableCommander): Promise<unknown[]> {
  const results = await chain.exec();
  if (results === null) throw new Error('Redis transaction was aborted: retry the operation');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
