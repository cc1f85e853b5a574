import { ApiError } from '../lib/errors.ts';

/** A handler for a known path reached with a method it does not serve: 405 with `Allow`. */
export function methodNotAllowed(...allowed: string[]) {
  const allow = allowed.join(', ');
  return (): never => {
    throw new ApiError('METHOD_NOT_ALLOWED', `This endpoint accepts ${allow} only.`, {
      details: { allowed },
      headers: { allow },
    });
  };
}

/** Any path the API does not have. */
export function notFound(): never {
  throw new ApiError('NOT_FOUND', 'No such endpoint.');
}
