// The Kafka part of the data layer: topics and their provisioning, the envelope, publishing and consuming.
export * from './topics.ts';
export * from './provision.ts';
export * from './envelope.ts';
export * from './producer.ts';
export * from './dedupe.ts';
export * from './dead-letter.ts';
export * from './consumer.ts';
