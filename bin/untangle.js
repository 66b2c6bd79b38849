#!/usr/bin/env node
// The `untangle` command. The project is TypeScript run through tsx's loader, so `npx untangle`
// works straight after `npm ci` with no separate build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
