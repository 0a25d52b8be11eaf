import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Env } from '../config.ts';

export type S3Env = Pick<
  Env,
  'PRISM_BACKUP_S3_ENDPOINT' | 'PRISM_BACKUP_S3_REGION' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY'
>;

/**
 * An S3 client for an S3-compatible store (the stack's SeaweedFS by default): path-style addressing
 * (`http://host:port/bucket/key`, no bucket host names to resolve), the credentials S3_ACCESS_KEY and
 * S3_SECRET_KEY. `endpoint` overrides PRISM_BACKUP_S3_ENDPOINT (the stack's own checks use its SeaweedFS).
 */
export function createS3(env: S3Env, endpoint: string = env.PRISM_BACKUP_S3_ENDPOINT): S3Client {
  const { S3_ACCESS_KEY: accessKeyId, S3_SECRET_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'S3_ACCESS_KEY and S3_SECRET_KEY are not set (`prism stack up` generates them for the stack’s SeaweedFS)',
    );
  }
  // The SDK warns on every process under Node 20 that its releases after January 2027 will need Node 22;
  // the pinned release supports Node 20 (its engines say >=20), so the warning says nothing about it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint,
    region: env.PRISM_BACKUP_S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // Checksums only where S3 requires them (DeleteObjects): the SDK's newer default adds CRC headers and
    // trailers to every upload, which S3-compatible stores do not all accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/**
 * The bucket Weaviate's backup-s3 module writes to (WEAVIATE_BACKUP_BACKEND=s3), in the store of
 * PRISM_BACKUP_S3_ENDPOINT with the same credentials; `stack up` creates it in the stack's SeaweedFS.
 */
export const weaviateBackupBucket = 'weaviate-backups';

/** Creates `bucket` unless it exists (the stack's SeaweedFS creates none on a first write). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: unknown) => {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  });
}
