/** Builds the dashboard bundle into `dist/ui/`: `tsup --config ui/tsup.config.ts` (from apps/kv-node). */

import { defineConfig } from 'tsup';
import { dashboardUiBuildOptions } from './build-options.js';

export default defineConfig({ ...dashboardUiBuildOptions('dist/ui'), silent: false });
