#!/usr/bin/env node
// @ts-check
// `triggers-package-check`: packs the package in the current folder and lints the tarball with
// publint and Are the Types Wrong (see packages.mjs). Part of `check` in each published package.
import { checkPackage } from './packages.mjs';

try {
  console.log(checkPackage(process.cwd()));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
