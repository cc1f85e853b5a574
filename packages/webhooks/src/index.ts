export * from './filter.ts';
export * from './schedule.ts';
export * from './url.ts';
