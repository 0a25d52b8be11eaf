declare module 'kafkajs-snappy' {
  // kafkajs-snappy ships no types: it exports a codec factory of the shape kafkajs's CompressionCodecs holds.
  const SnappyCodec: () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  };
  export default SnappyCodec;
}
