export * from './chunk.ts';
export * from './envelope.ts';
export * from './event.ts';
export * from './inbox.ts';
export * from './json.ts';
export * from './limits.ts';
export * from './queues.ts';
export * from './status.ts';
