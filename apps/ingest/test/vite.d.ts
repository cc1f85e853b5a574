// What Vite gives the tests besides the runtime's types: Markdown files imported as text through
// the `?raw` suffix (test/docs-routes.test.ts), and the Worker's sources as text through
// `import.meta.glob` (test/routes.test.ts).
declare module '*.md?raw' {
  const text: string;
  export default text;
}

interface ImportMeta {
  glob(pattern: string, options: { query: '?raw'; import: 'default'; eager: true }): Record<string, string>;
}
