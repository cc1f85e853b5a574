/**
 * The console Worker. Files of the browser app (dist/) are answered before this runs; any other
 * request is an API call: it goes to the ingest Worker through the service binding unchanged, and
 * its answer comes back unchanged. The app and its API thus share one origin, with no CORS.
 */
export default {
  fetch: (request, env) => env.API.fetch(request),
} satisfies ExportedHandler<Env>;
