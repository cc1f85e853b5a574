export * from './ack.ts';
export * from './inspect.ts';
export * from './list.ts';
export * from './read.ts';
export * from './replay.ts';
export * from './retention.ts';
export * from './status.ts';
export * from './write.ts';
