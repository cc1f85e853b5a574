/** Answers every request with a small JSON 200, without reading the body. */
export default {
  fetch: () => Response.json({ ok: true }),
} satisfies ExportedHandler;
