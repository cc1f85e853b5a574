export * from './schedule.ts';
export * from './url.ts';
