// Markdown files imported as text through Vite's `?raw` suffix (test/docs-routes.test.ts).
declare module '*.md?raw' {
  const text: string;
  export default text;
}
