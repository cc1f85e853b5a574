export { describeError } from './describe-error.ts';
export { createLogger, type LogFields, type Logger, type LogLevel, parseLogLevel } from './logger.ts';
