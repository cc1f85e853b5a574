export * from './filter.ts';
export * from './regex.ts';
export * from './schedule.ts';
export * from './transform.ts';
export * from './try.ts';
export * from './url.ts';
