export * from './inspect.ts';
export * from './json-chunks.ts';
export * from './read.ts';
export * from './status.ts';
export * from './write.ts';
