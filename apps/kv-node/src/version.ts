import packageJson from '../package.json' with { type: 'json' };

/** The kv-node version (from package.json), reported by `--version` and the status route. */
export const VERSION: string = packageJson.version;
