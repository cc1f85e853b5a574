/**
 * The default schedule of a delivery's attempts: the delay before each attempt after the first,
 * in seconds. 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts over about 27.5 hours. The
 * dispatcher applies it (a deployment may set its own with the consumer's `DELIVERY_SCHEDULE`
 * var); the ingest Worker's API description states it.
 */
export const DEFAULT_ATTEMPT_SCHEDULE: readonly number[] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
